import type { ExporterFactory } from '../../service/component.js';
import { configSchema, type PrometheusConfig } from './config.js';
import { PrometheusExporter } from './exporter.js';
import { RETINA_NAMES } from './retina.js';
import { derivedName } from './serializer.js';

export const prometheusExporterFactory: ExporterFactory<PrometheusConfig> = {
  type: 'prometheus',
  kind: 'exporter',
  configSchema,
  create: (settings, config) => new PrometheusExporter(settings, config),
  metricNames: [
    { title: 'Prometheus name', name: (metric, m) => derivedName(metric, m.sum?.monotonic === true) },
    { title: 'Retina name', name: (metric) => RETINA_NAMES.get(metric) },
  ],
};
