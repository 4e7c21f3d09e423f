/**
 * Logs for the OTLP serializers: @opentelemetry/otlp-transformer's logs serializers take
 * the SDK's ReadableLogRecord list (each record names its resource and scope) and group
 * it back into ResourceLogs on the wire.
 */
import type { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';

import type { ResourceLogs } from '../../service/component.js';

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
