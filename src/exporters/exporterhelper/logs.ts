/**
 * Logs for the OTLP serializers: @opentelemetry/otlp-transformer's logs serializers take
 * the SDK's ReadableLogRecord list (each record names its resource and scope) and group
 * it back into ResourceLogs on the wire.
 */
import type { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';

import type { CreateSettings, LogsConsumer, ResourceLogs, ResourceMetrics } from '../../service/component.js';
import {
  type Clock,
  type OtlpExporterStats,
  QueuedExporter,
  type SendingConfig,
  systemClock,
  type Transport,
} from './exporter.js';

type ReadableLogRecord = Parameters<typeof ProtobufLogsSerializer.serializeRequest>[0][number];

/** The records of one ResourceLogs as the serializers take them. */
export function logRecordsOf(logs: ResourceLogs): ReadableLogRecord[] {
  return logs.scopeLogs.flatMap(({ scope, logRecords }) =>
    logRecords.map((r) => ({
      hrTime: r.hrTime,
      hrTimeObserved: r.observedHrTime,
      severityNumber: r.severityNumber,
      severityText: r.severityText,
      body: r.body,
      attributes: r.attributes,
      droppedAttributesCount: 0,
      resource: logs.resource,
      instrumentationScope: scope,
    })),
  );
}

/** Log records in one ResourceLogs: the queue's unit for logs. */
export function countLogRecords(logs: ResourceLogs): number {
  return logs.scopeLogs.reduce((n, s) => n + s.logRecords.length, 0);
}

/**
 * A queued exporter of metrics that also takes logs: a second queue, with a connection of
 * its own, started by the first logs it is given once the exporter has started.
 */
export class MetricsAndLogsExporter<C extends SendingConfig> extends QueuedExporter<C> implements LogsConsumer {
  private readonly logs: QueuedExporter<C, ResourceLogs>;
  private logsStarted: Promise<void> | undefined;
  private accepting = false;

  constructor(
    settings: CreateSettings,
    config: C,
    metrics: Transport<ResourceMetrics>,
    logs: Transport<ResourceLogs>,
    clock: Clock = systemClock,
  ) {
    super(settings, config, metrics, clock);
    this.logs = new QueuedExporter(settings, config, { signal: 'logs', count: countLogRecords, ...logs }, clock);
  }

  override async start(): Promise<void> {
    await super.start();
    this.accepting = true;
  }

  /** The metrics queue's stats, with what became of the log records beside them. */
  override stats(): OtlpExporterStats {
    const { sent, failed, dropped } = this.logs.stats();
    return { ...super.stats(), logRecords: { sent, failed, dropped } };
  }

  async consumeLogs(logs: ResourceLogs[]): Promise<void> {
    if (this.accepting) this.logsStarted ??= this.logs.start();
    await this.logsStarted;
    await this.logs.consume(logs);
  }

  override async shutdown(): Promise<void> {
    this.accepting = false;
    this.logsStarted = undefined;
    await Promise.all([this.logs.shutdown(), super.shutdown()]);
  }
}
