/**
 * Settings the otlp and otlphttp exporters share, with the Collector's names and defaults:
 * `retry_on_failure` (configretry), `sending_queue` (exporterhelper) and `tls`
 * (configtls). Keys the Collector documents that cannot mean anything here are refused
 * with a message that says what they would do and why not here.
 */
import { formatDuration } from '../../service/duration.js';
import {
  boolean,
  checked,
  duration,
  type FieldDoc,
  integer,
  join,
  object,
  oneOf,
  optional,
  type Schema,
  string,
} from '../../service/schema.js';

/**
 * A key the Collector documents that dropreason refuses: any value is an error with
 * `message` (what the key would do, why not here, what to do instead).
 */
export function refused(message: string): Schema<undefined> {
  return {
    parse(value, path, issues) {
      if (value !== null && value !== undefined) issues.push({ path, message: `not supported: ${message}` });
      return undefined;
    },
    doc: (): FieldDoc => ({ type: 'not supported', description: message }),
  };
}

/** A number within [min, max] (integers allowed), such as a backoff multiplier. */
export function number(opts: { default: number; min: number; max: number; description: string }): Schema<number> {
  return {
    parse(value, path, issues) {
      if (value === null || value === undefined) return opts.default;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        issues.push({ path, message: `must be a number, but was ${JSON.stringify(value)}` });
        return undefined;
      }
      if (value < opts.min || value > opts.max) {
        issues.push({ path, message: `must be between ${opts.min} and ${opts.max}, but was ${value}` });
        return undefined;
      }
      return value;
    },
    doc: () => ({ type: 'number', description: opts.description, default: String(opts.default) }),
  };
}

export const retryOnFailure = checked(
  object(
    {
      /** @default true */
      enabled: boolean({ default: true, description: 'Retry failed exports that may succeed later.' }),
      /** @default 5s */
      initial_interval: duration({ default: 5_000, minMs: 1, description: 'Wait before the first retry.' }),
      /** @default 0.5 */
      randomization_factor: number({
        default: 0.5,
        min: 0,
        max: 1,
        description: 'Each wait is spread at random over ± this fraction of itself, so agents do not retry in step.',
      }),
      /** @default 1.5 */
      multiplier: number({
        default: 1.5,
        min: 1,
        max: 100,
        description: 'Each wait is the previous one times this, up to max_interval.',
      }),
      /** @default 30s */
      max_interval: duration({ default: 30_000, minMs: 1, description: 'Longest wait between retries.' }),
      /** @default 5m */
      max_elapsed_time: duration({
        default: 300_000,
        description:
          'Give up on a batch after retrying it this long; 0 retries it until it is sent or pushed out of the queue.',
      }),
    },
    {
      description:
        'Retries with exponential backoff when the backend is unavailable, as the Collector does; a Retry-After the backend sends (otlphttp) lengthens the wait.',
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
export type RetryConfig = NonNullable<ReturnType<typeof retryOnFailure.parse>>;

const NO_STORAGE =
  'would keep the queue in a storage extension (such as file_storage) across restarts; dropreason has no storage extensions, and needs none here: its counts are cumulative, so the first export after a restart carries every total again';

export const sendingQueue = checked(
  object(
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
       * Accepted for the Collector's configs; batches go one at a time.
       * @default 10
       */
      num_consumers: integer({
        default: 10,
        min: 1,
        max: 10_000,
        description:
          'Accepted as in the Collector, but dropreason sends one batch at a time, oldest first: the counts are cumulative, and sent in parallel a newer total could arrive before an older one and read as a counter reset.',
      }),
      /** @default 1000 */
      queue_size: integer({
        default: 1000,
        min: 1,
        max: 1_000_000,
        description:
          'How much the queue holds, in units of sizer, while the backend is slow or down; when full the oldest batch is dropped (the next export has the right totals).',
      }),
      /** @default requests */
      sizer: oneOf(['requests', 'items'] as const, {
        default: 'requests',
        description:
          'What queue_size counts: requests (batches, one per resource) or items (data points). bytes is not supported: batches are serialized when sent, so their size is not known when queued.',
      }),
      /** @default false */
      wait_for_result: boolean({
        default: false,
        description:
          "The pipeline's consume waits until its batches are sent or given up on, as with the queue disabled.",
      }),
      block_on_overflow: optional(
        boolean({
          description:
            'Only false is supported: a full queue drops its oldest batch. Blocking the pipeline instead would delay the next collection and gain nothing, since the newest batch carries every total.',
        }),
      ),
      blocking: refused("the Collector's old name of block_on_overflow; only false is supported here, so remove it"),
      storage: refused(NO_STORAGE),
      batch: refused(
        'would merge requests in the exporter before sending; dropreason sends each collection as it is read (one request per resource), so there is nothing to batch: remove it',
      ),
    },
    { description: 'A bounded queue between the pipeline and the backend.' },
  ),
  (q, path, issues) => {
    if (q.block_on_overflow === true) {
      issues.push({
        path: join(path, 'block_on_overflow'),
        message:
          'only false is supported: a full queue drops its oldest batch, and the next export carries every total again',
      });
    }
  },
);
export type QueueConfig = NonNullable<ReturnType<typeof sendingQueue.parse>>;

const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** A TLS version, also when written unquoted (`min_version: 1.2` is a number in YAML). */
function tlsVersion(opts: { default?: TlsVersion; description: string }): Schema<TlsVersion> {
  const inner = oneOf(TLS_VERSIONS, opts);
  return {
    parse: (value, path, issues) => inner.parse(typeof value === 'number' ? value.toFixed(1) : value, path, issues),
    doc: inner.doc,
  };
}

/** The client TLS settings of the Collector's configtls. */
export const tlsClient = checked(
  object(
    {
      /** @default false */
      insecure: boolean({
        default: false,
        description:
          'otlp: plain-text gRPC, without TLS (unless the endpoint is https://). otlphttp: the URL scheme decides, so this has no effect.',
      }),
      /** @default false */
      insecure_skip_verify: boolean({
        default: false,
        description: 'Use TLS but accept any server certificate and name, unverified (tests only).',
      }),
      ca_file: optional(
        string({ nonEmpty: true, description: "PEM file of the CAs that sign the server's certificate." }),
      ),
      ca_pem: optional(string({ nonEmpty: true, description: 'The CA certificates in PEM, instead of ca_file.' })),
      cert_file: optional(
        string({ nonEmpty: true, description: 'PEM client certificate for mutual TLS (with a key).' }),
      ),
      cert_pem: optional(
        string({ nonEmpty: true, description: 'The client certificate in PEM, instead of cert_file.' }),
      ),
      key_file: optional(string({ nonEmpty: true, description: 'PEM private key of the client certificate.' })),
      key_pem: optional(string({ nonEmpty: true, description: 'The private key in PEM, instead of key_file.' })),
      /** @default false */
      include_system_ca_certs_pool: boolean({
        default: false,
        description: "Trust the system's CAs as well as ca_file / ca_pem.",
      }),
      /** @default 1.2 */
      min_version: tlsVersion({ default: '1.2', description: 'Lowest TLS version to use.' }),
      max_version: optional(tlsVersion({ description: 'Highest TLS version to use; the newest when unset.' })),
      server_name_override: optional(
        string({
          nonEmpty: true,
          description: "The name to verify the server's certificate against (and send as SNI).",
        }),
      ),
      /** @default 0s */
      reload_interval: duration({
        default: 0,
        description: 'Read the certificate files again this often (for rotated certificates); 0 reads them once.',
      }),
      cipher_suites: refused(
        "takes Go's cipher suite names; dropreason's TLS is Node's (OpenSSL), which names them differently, so it uses OpenSSL's default suites for the TLS versions allowed",
      ),
      curve_preferences: refused(
        "takes Go's curve names; dropreason's TLS is Node's (OpenSSL), which uses its default curves",
      ),
      tpm: refused('would read the client key from a TPM; Node has no TPM access: give key_file or key_pem'),
    },
    { description: "TLS to the backend, after the Collector's configtls: verified with the system CAs by default." },
  ),
  (t, path, issues) => {
    const pairs: Array<[string, string | undefined, string, string | undefined]> = [
      ['ca_file', t.ca_file, 'ca_pem', t.ca_pem],
      ['cert_file', t.cert_file, 'cert_pem', t.cert_pem],
      ['key_file', t.key_file, 'key_pem', t.key_pem],
    ];
    for (const [fileKey, file, pemKey, pem] of pairs) {
      if (file !== undefined && pem !== undefined) {
        issues.push({ path: join(path, pemKey), message: `give ${fileKey} or ${pemKey}, not both` });
      }
    }
    const hasCert = t.cert_file !== undefined || t.cert_pem !== undefined;
    const hasKey = t.key_file !== undefined || t.key_pem !== undefined;
    if (hasCert !== hasKey) {
      issues.push({
        path: join(path, hasCert ? 'key_file' : 'cert_file'),
        message: 'is required with mutual TLS: give both a certificate and its key (file or pem), or neither',
      });
    }
    if (t.max_version !== undefined && t.max_version < t.min_version) {
      issues.push({
        path: join(path, 'max_version'),
        message: `must not be lower than min_version (${t.min_version}), but was ${t.max_version}`,
      });
    }
  },
);
export type TlsConfig = NonNullable<ReturnType<typeof tlsClient.parse>>;
