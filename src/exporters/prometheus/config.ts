import {
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
