/**
 * Sends the pipeline's metrics to an OTLP/HTTP backend: the shared queue and retries
 * (exporterhelper) over the HTTP client in client.ts.
 */
import type { CreateSettings } from '../../service/component.js';
import { type Clock, type MetricsSender, QueuedExporter, systemClock } from '../exporterhelper/exporter.js';
import { metricsUrl, type OtlpHttpConfig } from './config.js';
import { httpFailure } from './retry.js';

/** Builds the sender; the default loads client.ts (the OTLP serializers) only then. */
export type HttpSenderFactory = (config: OtlpHttpConfig) => MetricsSender | Promise<MetricsSender>;
const httpSender: HttpSenderFactory = async (config) => (await import('./client.js')).httpSender(config);

export class OtlpHttpExporter extends QueuedExporter<OtlpHttpConfig> {
  constructor(
    settings: CreateSettings,
    config: OtlpHttpConfig,
    makeSender: HttpSenderFactory = httpSender,
    clock: Clock = systemClock,
  ) {
    const url = metricsUrl(config);
    const tls = url.startsWith('https:') ? (config.tls.insecure_skip_verify ? 'unverified' : 'on') : 'off';
    super(
      settings,
      config,
      {
        protocol: 'OTLP/HTTP',
        target: url,
        describe: { tls, compression: config.compression, encoding: config.encoding },
        makeSender: () => makeSender(config),
        classify: httpFailure,
      },
      clock,
    );
  }
}
