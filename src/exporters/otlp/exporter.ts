/**
 * Sends the pipeline's metrics to an OTLP/gRPC backend: the shared queue and retries
 * (exporterhelper) over the gRPC client in client.ts.
 */
import type { CreateSettings } from '../../service/component.js';
import { type Clock, type MetricsSender, QueuedExporter, systemClock } from '../exporterhelper/exporter.js';
import type { OtlpConfig } from './config.js';
import { grpcFailure } from './retry.js';

/** Builds the sender; the default loads client.ts (gRPC, the OTLP serializers) only then. */
export type SenderFactory = (config: OtlpConfig) => MetricsSender | Promise<MetricsSender>;
const grpcSender: SenderFactory = async (config) => (await import('./client.js')).grpcSender(config);

export { countDataPoints, type Clock, type OtlpExporterStats } from '../exporterhelper/exporter.js';

function tlsState(config: OtlpConfig): string {
  if (config.tls.insecure && !config.endpoint.https) return 'off';
  return config.tls.insecure_skip_verify ? 'unverified' : 'on';
}

export class OtlpExporter extends QueuedExporter<OtlpConfig> {
  constructor(
    settings: CreateSettings,
    config: OtlpConfig,
    makeSender: SenderFactory = grpcSender,
    clock: Clock = systemClock,
  ) {
    super(
      settings,
      config,
      {
        protocol: 'OTLP/gRPC',
        target: config.endpoint.target,
        describe: { tls: tlsState(config), compression: config.compression },
        makeSender: () => makeSender(config),
        classify: grpcFailure,
      },
      clock,
    );
  }
}
