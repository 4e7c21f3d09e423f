// Generated from metadata.yaml by scripts/gen-metadata.mjs (npm run build:gen); do not edit.
import type { ComponentMetadata } from './metadata.js';

export const AGENT_EXPORTER_SENT = 'dropreason.agent.exporter.sent';
export const AGENT_EXPORTER_SEND_FAILED = 'dropreason.agent.exporter.send_failed';
export const AGENT_EXPORTER_QUEUE_DROPPED = 'dropreason.agent.exporter.queue_dropped';
export const AGENT_EXPORTER_SENT_LOG_RECORDS = 'dropreason.agent.exporter.sent_log_records';
export const AGENT_EXPORTER_SEND_FAILED_LOG_RECORDS = 'dropreason.agent.exporter.send_failed_log_records';
export const AGENT_EXPORTER_QUEUE_DROPPED_LOG_RECORDS = 'dropreason.agent.exporter.queue_dropped_log_records';

export const metadata = {
  type: 'service',
  source: 'src/service/metadata.yaml',
  attributes: {
    exporter: {
      description: "The exporter's component id without its kind, e.g. otlp or prometheus/retina.",
      type: 'string',
    },
  },
  telemetry: {
    metrics: {
      'dropreason.agent.exporter.sent': {
        description: 'Data points the backend accepted.',
        unit: '{datapoint}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['exporter'],
      },
      'dropreason.agent.exporter.send_failed': {
        description: 'Data points whose export failed for good.',
        unit: '{datapoint}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['exporter'],
      },
      'dropreason.agent.exporter.queue_dropped': {
        description: 'Data points dropped because the sending queue was full.',
        unit: '{datapoint}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['exporter'],
      },
      'dropreason.agent.exporter.sent_log_records': {
        description:
          'Log records (samples of drops) the backend accepted; reported by the exporters in a logs pipeline.',
        unit: '{record}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['exporter'],
      },
      'dropreason.agent.exporter.send_failed_log_records': {
        description: 'Log records whose export failed for good.',
        unit: '{record}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['exporter'],
      },
      'dropreason.agent.exporter.queue_dropped_log_records': {
        description: 'Log records dropped because the sending queue was full.',
        unit: '{record}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['exporter'],
      },
    },
  },
} as const satisfies ComponentMetadata;
