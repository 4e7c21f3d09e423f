import type { ExporterFactory } from '../../service/component.js';
import { configSchema, type PrometheusConfig } from './config.js';
import { PrometheusExporter } from './exporter.js';
import { RETINA_NAMES } from './retina.js';
import { derivedName } from '../../translator/prometheus/serializer.js';

export const prometheusExporterFactory: ExporterFactory<PrometheusConfig> = {
  type: 'prometheus',
  kind: 'exporter',
  configSchema,
  create: (settings, config) => new PrometheusExporter(settings, config),
  metricNames: [
    { title: 'Prometheus name', name: (metric, m) => derivedName(metric, m.sum?.monotonic === true) },
    {
      title: 'Retina name',
      name: (metric) => RETINA_NAMES.get(metric),
      note:
        "With `naming: retina`: gauges holding the cumulative values, with Retina's labels. Pod series carry " +
        '`ip`, `namespace`, `podname`, `workload_kind`, `workload_name` (local context) or `source_*` and ' +
        '`destination_*` of both ends (`retina_context: remote`); an end without a known pod reads `"unknown"`, ' +
        "and the workload labels come from the pod's owner chain. Interface drops carry `interface_name` and " +
        "`statistic_name`, one series per interface. Which panels of Retina's own dashboards answer exactly, " +
        "as measured against the kernel's counters, is in deploy/grafana/README.md.",
    },
  ],
};
