import { tlsSchema } from '../../confighttp/tls.js';
import {
  boolean,
  checked,
  duration,
  endpoint,
  integer,
  join,
  object,
  optional,
  string,
  type Parsed,
} from '../../service/schema.js';

const fields = {
  /**
   * Address the health endpoint listens on.
   * @default localhost:13133
   */
  endpoint: endpoint({
    default: 'localhost:13133',
    description: 'host:port the health endpoint listens on; 0.0.0.0:13133 (or ${env:POD_IP}:13133) for kubelet probes.',
  }),
  /**
   * URL path that answers the health check.
   * @default /
   */
  path: string({ default: '/', nonEmpty: true, description: 'URL path that answers GET with the health status.' }),
  /** Fixed bodies instead of the JSON status. */
  response_body: optional(
    object(
      {
        healthy: optional(string({ description: 'Body sent with 200 instead of the JSON status.' })),
        unhealthy: optional(string({ description: 'Body sent with 503 instead of the JSON status.' })),
      },
      { description: 'Fixed response bodies instead of the JSON status.' },
    ),
  ),
  /** Accepted for the Collector's configs; has no effect. */
  check_collector_pipeline: optional(
    object(
      {
        enabled: boolean({ default: false, description: 'Accepted; has no effect.' }),
        interval: duration({ default: 300_000, description: 'Accepted; has no effect.' }),
        exporter_failure_threshold: integer({ default: 5, min: 0, description: 'Accepted; has no effect.' }),
      },
      {
        description:
          'Accepted for configs written for the Collector, where it is deprecated; has no effect here: health always covers every pipeline.',
      },
    ),
  ),
  /** The Prometheus exporter's server TLS settings. */
  tls: optional({
    ...tlsSchema,
    doc: () => ({ ...tlsSchema.doc(), description: 'Serves the health endpoint over HTTPS.' }),
  }),
};

export const configSchema = checked(
  object(fields, {
    description:
      'Answers GET on path with 200 and a JSON status once every pipeline has started and every receiver has read its maps within 3 collection intervals; 503 with the reason otherwise (starting, shutting down, a receiver that stopped reading).',
  }),
  (c, path, issues) => {
    if (!c.path.startsWith('/')) {
      issues.push({ path: join(path, 'path'), message: `must start with /, but was ${JSON.stringify(c.path)}` });
    }
  },
);
export type HealthCheckConfig = Parsed<typeof fields>;
