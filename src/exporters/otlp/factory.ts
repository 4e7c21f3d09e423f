import type { ExporterFactory } from '../../service/component.js';
import { checkTlsFiles } from '../exporterhelper/tls.js';
import { configSchema, type OtlpConfig } from './config.js';
import { OtlpExporter } from './exporter.js';

export const otlpExporterFactory: ExporterFactory<OtlpConfig> = {
  type: 'otlp',
  kind: 'exporter',
  signals: ['metrics', 'logs'],
  configSchema,
  create: (settings, config) => new OtlpExporter(settings, config),
  /** The TLS files must be readable before anything starts. */
  preflight(config) {
    if (config.tls.insecure && !config.endpoint.https) return;
    checkTlsFiles(config.tls);
  },
};
