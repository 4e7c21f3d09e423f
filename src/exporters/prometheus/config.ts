import { tlsSchema } from '../../confighttp/tls.js';
import {
  boolean,
  checked,
  duration,
  endpoint,
  join,
  object,
  oneOf,
  optional,
  string,
  stringMap,
  type Parsed,
} from '../../service/schema.js';

const fields = {
  /**
   * Address the /metrics endpoint listens on.
   * @default 127.0.0.1:9464
   */
  endpoint: endpoint({
    default: '127.0.0.1:9464',
    description: 'host:port the /metrics endpoint listens on; 0.0.0.0:PORT to serve other hosts.',
  }),
  /** Prefix added to every metric name, joined with `_`. */
  namespace: optional(string({ nonEmpty: true, description: 'Prefix added to every metric name, joined with _.' })),
  /** Labels added to every series. */
  const_labels: stringMap({
    default: {},
    keyPattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/,
    keyRule: 'label names are letters, digits and _, not starting with a digit',
    description: 'Labels added to every series, e.g. { cluster: prod }.',
  }),
  /**
   * Series not updated for this long are no longer served.
   * @default 5m
   */
  metric_expiration: duration({
    default: 300_000,
    minMs: 1000,
    description: 'Series not updated for this long are no longer served.',
  }),
  /**
   * `otel`: names derived from the OTel names (dropreason_drop_count_total, counters);
   * `retina`: Retina's names (networkobservability_drop_count, gauges), for its dashboards.
   * @default otel
   */
  naming: oneOf(['otel', 'retina'] as const, {
    default: 'otel',
    description:
      "otel: names from the OTel metric names (dropreason_drop_count_total, counters); retina: Retina's names (networkobservability_drop_count, gauges holding cumulative values).",
  }),
  /**
   * With naming retina, which of Retina's contexts the pod-level series carry: `local`
   * (ip, namespace, podname, workload_kind, workload_name of the pod on this node) or
   * `remote` (source_* and destination_*: the pod and its peer, placed by direction).
   * @default local
   */
  retina_context: optional(
    oneOf(['local', 'remote'] as const, {
      description:
        'With naming retina, the labels of the adv_drop series. local (the default): ip, namespace, podname, workload_kind, workload_name of the pod on this node. remote: source_* and destination_* of both ends; the pod is the destination of ingress drops and the source of the others, the peer (peer.address, and its pod with the k8sattributes peer_enrichment) the other end.',
    }),
  ),
  /** @default false */
  send_timestamps: boolean({
    default: false,
    description:
      "Writes each sample's time (the end of its collection); Prometheus then uses it instead of the scrape time.",
  }),
  /** @default false */
  enable_open_metrics: boolean({
    default: false,
    description:
      'Serves OpenMetrics text (1.0.0) to a scraper whose Accept header asks for application/openmetrics-text; the Prometheus text format otherwise.',
  }),
  /** @default true */
  add_metric_suffixes: boolean({
    default: true,
    description:
      'Adds _total to counter names, as the Collector does (its unit suffixes are already part of our names: dropreason_drop_bytes_total). false: counters keep their bare names in the Prometheus text format; OpenMetrics requires _total on counter samples, so it keeps it.',
  }),
  resource_to_telemetry_conversion: object(
    {
      /** @default false */
      enabled: boolean({
        default: false,
        description:
          "true: every resource attribute becomes a label (host_name, service_instance_id, k8s_cluster_name added by the resource processor, ...), as in the Collector. false (the default): only a pod's k8s.* attributes become labels of its series (k8s_pod_name, k8s_namespace_name, ...), so pods stay apart without the option. The Collector instead leaves resource attributes out of the series (its target_info metric, which dropreason does not serve) unless enabled.",
      }),
    },
    { description: 'Which resource attributes become labels.' },
  ),
  tls: optional(tlsSchema),
};

export const configSchema = checked(
  object(fields, { description: 'Serves the metrics for Prometheus to scrape.' }),
  (c, path, issues) => {
    if (c.retina_context !== undefined && c.naming !== 'retina') {
      issues.push({
        path: join(path, 'retina_context'),
        message: `is only used with naming: retina, but naming is ${c.naming}`,
      });
    }
  },
);
export type PrometheusConfig = Parsed<typeof fields>;
