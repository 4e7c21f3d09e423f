/**
 * Sends the pipeline's metrics, and logs, to an OTLP/gRPC backend: the shared queue and
 * retries (exporterhelper) over the gRPC client in client.ts. Logs have a queue and a
 * connection of their own, started by the first logs it is given.
 */
import type { CreateSettings, ResourceLogs } from '../../service/component.js';
import { type Clock, type MetricsSender, type Sender, systemClock } from '../exporterhelper/exporter.js';
import { MetricsAndLogsExporter } from '../exporterhelper/logs.js';
import type { OtlpConfig } from './config.js';
import { grpcFailure } from './retry.js';

/** Build the senders; the defaults load client.ts (gRPC, the OTLP serializers) only then. */
export type SenderFactory = (config: OtlpConfig) => MetricsSender | Promise<MetricsSender>;
export type LogsSenderFactory = (config: OtlpConfig) => Sender<ResourceLogs> | Promise<Sender<ResourceLogs>>;
const grpcSender: SenderFactory = async (config) => (await import('./client.js')).grpcSender(config);
const grpcLogsSender: LogsSenderFactory = async (config) => (await import('./client.js')).grpcLogsSender(config);

export { countDataPoints, type Clock, type OtlpExporterStats } from '../exporterhelper/exporter.js';

function tlsState(config: OtlpConfig): string {
  if (config.tls.insecure && !config.endpoint.https) return 'off';
  return config.tls.insecure_skip_verify ? 'unverified' : 'on';
}

export class OtlpExporter extends MetricsAndLogsExporter<OtlpConfig> {
  constructor(
    settings: CreateSettings,
    config: OtlpConfig,
    makeSender: SenderFactory = grpcSender,
    clock: Clock = systemClock,
    makeLogsSender: LogsSenderFactory = grpcLogsSender,
  ) {
    const transport = {
      protocol: 'OTLP/gRPC',
      target: config.endpoint.target,
      describe: { tls: tlsState(config), compression: config.compression },
      classify: grpcFailure,
    };
    super(
      settings,
      config,
      { ...transport, makeSender: () => makeSender(config) },
      { ...transport, makeSender: () => makeLogsSender(config) },
      clock,
    );
  }
}
