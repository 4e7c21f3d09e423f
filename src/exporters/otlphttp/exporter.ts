/**
 * Sends the pipeline's metrics, and logs, to an OTLP/HTTP backend: the shared queue and
 * retries (exporterhelper) over the HTTP client in client.ts. Logs have a queue of their
 * own, started by the first logs it is given.
 */
import type { CreateSettings, LogsConsumer, ResourceLogs } from '../../service/component.js';
import {
  type Clock,
  type MetricsSender,
  QueuedExporter,
  type Sender,
  systemClock,
} from '../exporterhelper/exporter.js';
import { countLogRecords } from '../exporterhelper/logs.js';
import { logsUrl, metricsUrl, type OtlpHttpConfig } from './config.js';
import { httpFailure } from './retry.js';

/** Build the senders; the defaults load client.ts (the OTLP serializers) only then. */
export type HttpSenderFactory = (config: OtlpHttpConfig) => MetricsSender | Promise<MetricsSender>;
export type HttpLogsSenderFactory = (config: OtlpHttpConfig) => Sender<ResourceLogs> | Promise<Sender<ResourceLogs>>;
const httpSender: HttpSenderFactory = async (config) => (await import('./client.js')).httpSender(config);
const httpLogsSender: HttpLogsSenderFactory = async (config) => (await import('./client.js')).httpLogsSender(config);

function describe(url: string, config: OtlpHttpConfig): Record<string, string> {
  const tls = url.startsWith('https:') ? (config.tls.insecure_skip_verify ? 'unverified' : 'on') : 'off';
  return { tls, compression: config.compression, encoding: config.encoding };
}

/** The URL, or the reason there is none (no endpoint for this signal). */
function urlOr(url: () => string): string {
  try {
    return url();
  } catch (err) {
    return `(none: ${(err as Error).message})`;
  }
}

export class OtlpHttpExporter extends QueuedExporter<OtlpHttpConfig> implements LogsConsumer {
  private readonly logs: QueuedExporter<OtlpHttpConfig, ResourceLogs>;
  private logsStarted: Promise<void> | undefined;
  private accepting = false;

  constructor(
    settings: CreateSettings,
    config: OtlpHttpConfig,
    makeSender: HttpSenderFactory = httpSender,
    clock: Clock = systemClock,
    makeLogsSender: HttpLogsSenderFactory = httpLogsSender,
  ) {
    const url = urlOr(() => metricsUrl(config));
    super(
      settings,
      config,
      {
        protocol: 'OTLP/HTTP',
        target: url,
        describe: describe(url, config),
        makeSender: () => makeSender(config),
        classify: httpFailure,
      },
      clock,
    );
    const logs = urlOr(() => logsUrl(config));
    this.logs = new QueuedExporter(
      settings,
      config,
      {
        protocol: 'OTLP/HTTP',
        target: logs,
        describe: describe(logs, config),
        signal: 'logs',
        count: countLogRecords,
        makeSender: () => makeLogsSender(config),
        classify: httpFailure,
      },
      clock,
    );
  }

  override async start(): Promise<void> {
    await super.start();
    this.accepting = true;
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
