import type { ExporterFactory } from '../../service/component.js';
import { configSchema, type PrometheusConfig } from './config.js';
import { PrometheusExporter } from './exporter.js';

export const prometheusExporterFactory: ExporterFactory<PrometheusConfig> = {
  type: 'prometheus',
  kind: 'exporter',
  configSchema,
  create: (settings, config) => new PrometheusExporter(settings, config),
};
