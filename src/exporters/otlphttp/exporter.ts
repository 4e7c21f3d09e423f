/**
 * Sends the pipeline's metrics, and logs, to an OTLP/HTTP backend: the shared queue and
 * retries (exporterhelper) over the HTTP client in client.ts. Logs have a queue of their
 * own, started by the first logs it is given.
 */
import type { CreateSettings, ResourceLogs } from '../../service/component.js';
import { type Clock, type MetricsSender, type Sender, systemClock } from '../exporterhelper/exporter.js';
import { MetricsAndLogsExporter } from '../exporterhelper/logs.js';
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

export class OtlpHttpExporter extends MetricsAndLogsExporter<OtlpHttpConfig> {
  constructor(
    settings: CreateSettings,
    config: OtlpHttpConfig,
    makeSender: HttpSenderFactory = httpSender,
    clock: Clock = systemClock,
    makeLogsSender: HttpLogsSenderFactory = httpLogsSender,
  ) {
    const transport = (url: string) => ({
      protocol: 'OTLP/HTTP',
      target: url,
      describe: describe(url, config),
      classify: httpFailure,
    });
    super(
      settings,
      config,
      { ...transport(urlOr(() => metricsUrl(config))), makeSender: () => makeSender(config) },
      { ...transport(urlOr(() => logsUrl(config))), makeSender: () => makeLogsSender(config) },
      clock,
    );
  }
}
