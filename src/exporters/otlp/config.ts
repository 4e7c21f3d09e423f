/**
 * The otlp exporter's settings, with the Collector's names: endpoint, tls, headers,
 * compression, timeout, retry_on_failure, sending_queue.
 */
import { formatDuration } from '../../service/duration.js';
import {
  boolean,
  checked,
  describe,
  duration,
  endpoint,
  type Endpoint,
  integer,
  join,
  object,
  oneOf,
  optional,
  type Parsed,
  type Schema,
  string,
  stringMap,
} from '../../service/schema.js';

/** `host:port` of a server to connect to: unlike a listening endpoint, the host is required. */
function serverEndpoint(opts: { default: string; description: string }): Schema<Endpoint> {
  const inner = endpoint(opts);
  return {
    parse(value, path, issues) {
      const parsed = inner.parse(value, path, issues);
      if (parsed && parsed.host === '') {
        issues.push({ path, message: `must name a host, such as localhost:4317, but was ${describe(value)}` });
        return undefined;
      }
      return parsed;
    },
    doc: inner.doc,
  };
}

/**
 * gRPC request headers (metadata). Names are what gRPC accepts (letters, digits, `-`, `_`,
 * `.`; gRPC lowercases them) without the `-bin` suffix, since values are text; values are
 * printable ASCII.
 */
const headers = checked(
  stringMap({
    default: {},
    keyPattern: /^[0-9A-Za-z_.-]+$/,
    keyRule: 'header names hold only letters, digits, -, _ and .',
    description: 'Headers (gRPC metadata) sent with every request, such as an API key.',
  }),
  (h, path, issues) => {
    for (const [name, value] of Object.entries(h)) {
      if (name.toLowerCase().endsWith('-bin')) {
        issues.push({ path: join(path, name), message: 'binary (-bin) headers are not supported: values are text' });
      } else if (!/^[\x20-\x7e]*$/.test(value)) {
        issues.push({ path: join(path, name), message: 'must be printable ASCII' });
      }
    }
  },
);

const tls = checked(
  object(
    {
      /**
       * Plain-text gRPC (no TLS). The other tls settings are then unused.
       * @default false
       */
      insecure: boolean({ default: false, description: 'Send over plain text, without TLS.' }),
      /** CA certificates (PEM) to verify the server with, instead of the system's. */
      ca_file: optional(
        string({ nonEmpty: true, description: "PEM file of the CAs that sign the server's certificate." }),
      ),
      /** Client certificate (PEM) for mutual TLS; needs key_file. */
      cert_file: optional(
        string({ nonEmpty: true, description: 'PEM client certificate for mutual TLS (with key_file).' }),
      ),
      /** Private key (PEM) of the client certificate; needs cert_file. */
      key_file: optional(string({ nonEmpty: true, description: 'PEM private key of cert_file.' })),
      /**
       * Accept any server certificate, unverified. For tests only.
       * @default false
       */
      insecure_skip_verify: boolean({
        default: false,
        description: 'Use TLS but accept any server certificate and name, unverified (tests only).',
      }),
    },
    { description: 'TLS to the backend: on by default, verified with the system CAs.' },
  ),
  (t, path, issues) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      const missing = t.cert_file === undefined ? 'cert_file' : 'key_file';
      issues.push({
        path: join(path, missing),
        message: 'is required with mutual TLS: give both cert_file and key_file, or neither',
      });
    }
  },
);

const retryOnFailure = checked(
  object(
    {
      /** @default true */
      enabled: boolean({ default: true, description: 'Retry failed exports that may succeed later.' }),
      /** @default 5s */
      initial_interval: duration({ default: 5_000, minMs: 1, description: 'Wait before the first retry.' }),
      /** @default 30s */
      max_interval: duration({ default: 30_000, minMs: 1, description: 'Longest wait between retries.' }),
      /** @default 300s */
      max_elapsed_time: duration({
        default: 300_000,
        description:
          'Give up on a batch after retrying it this long; 0 retries it until it is sent or pushed out of the queue.',
      }),
    },
    {
      description:
        'Retries with exponential backoff (x1.5 per retry, randomized by ±50%) when the backend is unavailable.',
    },
  ),
  (r, path, issues) => {
    if (r.max_interval < r.initial_interval) {
      issues.push({
        path: join(path, 'max_interval'),
        message: `must be at least initial_interval (${formatDuration(r.initial_interval)}), but was ${formatDuration(r.max_interval)}`,
      });
    }
  },
);

const fields = {
  /**
   * The backend's OTLP/gRPC address.
   * @default localhost:4317
   */
  endpoint: serverEndpoint({ default: 'localhost:4317', description: 'host:port of the OTLP/gRPC backend.' }),
  tls,
  /** Sent with every request as gRPC metadata, e.g. an API key. */
  headers,
  /** @default gzip */
  compression: oneOf(['gzip', 'none'] as const, { default: 'gzip', description: 'Compression of each request.' }),
  /**
   * Deadline of one export request.
   * @default 5s
   */
  timeout: duration({ default: 5_000, minMs: 1, description: 'Deadline of one export request.' }),
  retry_on_failure: retryOnFailure,
  sending_queue: object(
    {
      /**
       * Without the queue, consume() waits until its data is sent or given up on.
       * @default true
       */
      enabled: boolean({
        default: true,
        description: 'Queue batches and send them in the background; without it the pipeline waits for each export.',
      }),
      /**
       * Batches held while the backend is slow or down; when full, the oldest is dropped.
       * @default 100
       */
      queue_size: integer({
        default: 100,
        min: 1,
        max: 100_000,
        description:
          'Batches (one per collection) held while the backend is slow or down; when full the oldest is dropped.',
      }),
    },
    { description: 'A bounded queue between the pipeline and the backend.' },
  ),
};

export const configSchema = object(fields, { description: 'Sends the metrics to a backend over OTLP/gRPC.' });
export type OtlpConfig = Parsed<typeof fields>;
export type TlsConfig = OtlpConfig['tls'];
export type RetryConfig = OtlpConfig['retry_on_failure'];
