import type { ExporterFactory } from '../../service/component.js';
import { checkTlsFiles } from '../exporterhelper/tls.js';
import { metricsUrl, configSchema, type OtlpHttpConfig } from './config.js';
import { OtlpHttpExporter } from './exporter.js';

export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpConfig> = {
  type: 'otlphttp',
  kind: 'exporter',
  signals: ['metrics', 'logs'],
  configSchema,
  create: (settings, config) => new OtlpHttpExporter(settings, config),
  /** The TLS files of an https:// endpoint must be readable before anything starts. */
  preflight(config) {
    if (metricsUrl(config).startsWith('https:')) checkTlsFiles(config.tls);
  },
};
