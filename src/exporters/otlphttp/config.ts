/**
 * The otlphttp exporter's settings: the Collector's otlphttpexporter keys (confighttp's
 * client, configtls, configretry, exporterhelper's queue) with its defaults: gzip, 30 s,
 * protobuf. Keys the Collector documents that cannot work here are refused with the reason.
 */
import { refused, retryOnFailure, sendingQueue, tlsClient } from '../exporterhelper/config.js';
import {
  boolean,
  checked,
  describe,
  duration,
  type FieldDoc,
  integer,
  join,
  object,
  oneOf,
  optional,
  type Parsed,
  type Schema,
  stringMap,
} from '../../service/schema.js';

/** The path the Collector appends to `endpoint` for metrics. */
export const METRICS_PATH = 'v1/metrics';
/** The path the Collector appends to `endpoint` for logs. */
export const LOGS_PATH = 'v1/logs';

/** An http:// or https:// URL with a host, kept as written. */
function httpUrl(opts: { description: string }): Schema<string | undefined> {
  return {
    parse(value, path, issues) {
      if (value === null || value === undefined) return undefined;
      let url: URL | undefined;
      try {
        url = typeof value === 'string' ? new URL(value) : undefined;
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
        issues.push({
          path,
          message: `must be an http:// or https:// URL with a host, such as https://otlp.example.com:4318, but was ${describe(value)}`,
        });
        return undefined;
      }
      return value as string;
    },
    doc: (): FieldDoc => ({ type: 'URL (optional)', description: opts.description }),
  };
}

/** HTTP header names are tokens; values printable ASCII (tab allowed). */
const headers = checked(
  stringMap({
    default: {},
    keyPattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
    keyRule: "an HTTP header name holds letters, digits and !#$%&'*+-.^_`|~",
    description: 'HTTP headers sent with every request, such as an API key.',
  }),
  (h, path, issues) => {
    for (const [name, value] of Object.entries(h)) {
      if (!/^[\t\x20-\x7e]*$/.test(value)) issues.push({ path: join(path, name), message: 'must be printable ASCII' });
    }
  },
);

export type HttpCompression = 'gzip' | 'zlib' | 'deflate' | 'zstd' | 'none';

const HTTP_COMPRESSION_REFUSED: Record<string, string> = {
  snappy: "Node has no snappy codec; use gzip or zstd, which the Collector's receiver also takes",
  lz4: "Node has no lz4 codec; use gzip or zstd, which the Collector's receiver also takes",
};

const compression: Schema<HttpCompression> = {
  parse(value, path, issues) {
    if (value === null || value === undefined) return 'gzip';
    if (value === '') return 'none';
    if (value === 'gzip' || value === 'zlib' || value === 'deflate' || value === 'zstd' || value === 'none')
      return value;
    const why = typeof value === 'string' ? HTTP_COMPRESSION_REFUSED[value] : undefined;
    issues.push({
      path,
      message: why
        ? `'${value}' is not supported: ${why}`
        : `must be one of 'gzip', 'zlib', 'deflate', 'zstd', 'none', but was ${describe(value)}`,
    });
    return undefined;
  },
  doc: () => ({
    type: "one of 'gzip', 'zlib', 'deflate', 'zstd', 'none'",
    default: 'gzip',
    description:
      'Compression of each request body (zlib and deflate both send Content-Encoding: deflate). snappy and lz4 are refused: Node has no codec for them.',
  }),
};

const NO_EFFECT = 'Accepted as in the Collector; Node manages its sockets itself, so it has no effect.';

const fields = {
  endpoint: httpUrl({
    description: `Base URL of the OTLP/HTTP backend; metrics go to it with /${METRICS_PATH} appended, logs with /${LOGS_PATH}. Required unless metrics_endpoint or logs_endpoint is set.`,
  }),
  metrics_endpoint: httpUrl({ description: 'The full URL metrics go to, used as written instead of endpoint.' }),
  traces_endpoint: httpUrl({
    description: 'Accepted as in the Collector; unused: dropreason sends metrics and logs only.',
  }),
  logs_endpoint: httpUrl({
    description: 'The full URL logs (samples of drops) go to, used as written instead of endpoint.',
  }),
  /** @default proto */
  encoding: oneOf(['proto', 'json'] as const, {
    default: 'proto',
    description: 'Body of each request: protobuf (application/x-protobuf) or OTLP JSON (application/json).',
  }),
  tls: tlsClient,
  headers,
  compression,
  /** @default 30s */
  timeout: duration({ default: 30_000, minMs: 1, description: 'Time limit of one HTTP request.' }),
  retry_on_failure: retryOnFailure,
  sending_queue: sendingQueue,
  /** @default false */
  disable_keep_alives: boolean({
    default: false,
    description: 'A new connection for every request instead of keeping one open.',
  }),
  read_buffer_size: optional(integer({ min: 0, max: 1 << 30, description: NO_EFFECT })),
  write_buffer_size: optional(integer({ min: 0, max: 1 << 30, description: NO_EFFECT })),
  max_idle_conns: optional(integer({ min: 0, max: 1 << 20, description: NO_EFFECT })),
  max_idle_conns_per_host: optional(integer({ min: 0, max: 1 << 20, description: NO_EFFECT })),
  max_conns_per_host: optional(integer({ min: 0, max: 1 << 20, description: NO_EFFECT })),
  idle_conn_timeout: optional(duration({ description: NO_EFFECT })),
  proxy_url: refused(
    "would send through an HTTP proxy; Node's HTTP client has none built in, so dropreason connects to the endpoint directly",
  ),
  auth: refused(
    'would take credentials from an authenticator extension (bearertokenauth, oauth2client...); dropreason has no authenticator extensions: put the credential in headers, e.g. Authorization: "Bearer ${file:/var/run/secrets/token}"',
  ),
};

export const configSchema = checked(
  object(fields, { description: 'Sends the metrics to a backend over OTLP/HTTP (protobuf or JSON).' }),
  (c, path, issues) => {
    if (c.endpoint === undefined && c.metrics_endpoint === undefined && c.logs_endpoint === undefined) {
      issues.push({
        path: join(path, 'endpoint'),
        message:
          'is required: give endpoint (the base URL, such as https://otlp.example.com:4318), metrics_endpoint or logs_endpoint',
      });
    }
  },
);
export type OtlpHttpConfig = Parsed<typeof fields>;

/** Where metrics are posted: metrics_endpoint as written, else endpoint + /v1/metrics, as in the Collector. */
export function metricsUrl(config: Pick<OtlpHttpConfig, 'endpoint' | 'metrics_endpoint'>): string {
  if (config.metrics_endpoint !== undefined) return config.metrics_endpoint;
  return withPath(config.endpoint, METRICS_PATH, 'metrics_endpoint');
}

/** Where logs are posted: logs_endpoint as written, else endpoint + /v1/logs, as in the Collector. */
export function logsUrl(config: Pick<OtlpHttpConfig, 'endpoint' | 'logs_endpoint'>): string {
  if (config.logs_endpoint !== undefined) return config.logs_endpoint;
  return withPath(config.endpoint, LOGS_PATH, 'logs_endpoint');
}

function withPath(base: string | undefined, path: string, key: string): string {
  if (base === undefined) throw new Error(`has no endpoint or ${key}, so it has nowhere to send to /${path}`);
  return base.endsWith('/') ? `${base}${path}` : `${base}/${path}`;
}
