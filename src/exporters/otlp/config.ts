/**
 * The otlp exporter's settings: the Collector's otlpexporter keys (configgrpc's client,
 * configtls, configretry, exporterhelper's queue and timeout) with its defaults. Keys the
 * Collector documents that cannot work here are refused with the reason.
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
  string,
  stringMap,
} from '../../service/schema.js';

/** Where to connect, as gRPC dials it. */
export interface GrpcEndpoint {
  /** What grpc-js dials: `host:port` (IPv6 in brackets) or `unix:///path`. */
  target: string;
  /** Empty for a unix socket. */
  host: string;
  port: number;
  /** `https://` was written: TLS whatever tls.insecure says, as in the Collector. */
  https: boolean;
}

const ENDPOINT_FORMS = 'host:port, http://host:port, https://host:port, dns:///host:port or unix:///path';

/**
 * The forms the Collector's configgrpc takes: `host:port`; `http://` and `https://`
 * prefixes, stripped (`https://` turns TLS on even with tls.insecure; `http://` leaves
 * TLS to tls.insecure, as in the Collector); `dns://[authority]/`, stripped (DNS is how
 * names are resolved anyway); `unix:///path`.
 */
function grpcEndpoint(opts: { default: string; description: string }): Schema<GrpcEndpoint> {
  return {
    parse(value, path, issues) {
      const raw = value === null || value === undefined ? opts.default : value;
      if (typeof raw !== 'string') {
        issues.push({ path, message: `must be an endpoint (${ENDPOINT_FORMS}), but was ${describe(value)}` });
        return undefined;
      }
      if (raw.startsWith('unix://')) {
        if (raw.length === 'unix://'.length) {
          issues.push({ path, message: 'must name the socket, as in unix:///run/otel.sock' });
          return undefined;
        }
        return { target: raw, host: '', port: 0, https: false };
      }
      const https = raw.startsWith('https://');
      const rest = raw.replace(/^https?:\/\//, '').replace(/^dns:\/\/[^/]*\//, '');
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]\s]+)):(\d{1,5})\/?$/.exec(rest);
      const port = m ? Number(m[3]) : NaN;
      if (!m || port < 1 || port > 65535) {
        const hint = /^:\d+$/.test(rest)
          ? 'must name a host, such as localhost:4317'
          : `must be ${ENDPOINT_FORMS} with a port from 1 to 65535`;
        issues.push({ path, message: `${hint}, but was ${describe(raw)}` });
        return undefined;
      }
      const host = m[1] ?? m[2]!;
      return { target: `${host.includes(':') ? `[${host}]` : host}:${port}`, host, port, https };
    },
    doc: (): FieldDoc => ({
      type: `endpoint (${ENDPOINT_FORMS})`,
      description: opts.description,
      default: opts.default,
    }),
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

/** The Collector's compression names and what grpc-js, our gRPC client, does with each. */
const GRPC_COMPRESSION_REFUSED: Record<string, string> = {
  zstd: 'grpc-js, the gRPC client here, compresses with gzip only: use gzip',
  snappy: 'grpc-js, the gRPC client here, compresses with gzip only: use gzip',
  lz4: 'grpc-js, the gRPC client here, compresses with gzip only, and the Collector does not take lz4 over gRPC: use gzip',
  deflate:
    "grpc-js could send deflate, but the Collector's gRPC receiver does not accept it (gzip, snappy and zstd only): use gzip",
  zlib: "the Collector's gRPC receiver does not accept zlib (gzip, snappy and zstd only): use gzip",
};

const compression: Schema<'gzip' | 'none'> = {
  parse(value, path, issues) {
    if (value === null || value === undefined) return 'gzip';
    if (value === 'gzip' || value === 'none' || value === '') return value === 'gzip' ? 'gzip' : 'none';
    const why = typeof value === 'string' ? GRPC_COMPRESSION_REFUSED[value] : undefined;
    issues.push({
      path,
      message: why
        ? `'${value}' is not supported: ${why}`
        : `must be one of 'gzip', 'none', but was ${describe(value)}`,
    });
    return undefined;
  },
  doc: () => ({
    type: "one of 'gzip', 'none'",
    default: 'gzip',
    description:
      'Compression of each request. zstd, snappy, lz4, deflate and zlib are refused: grpc-js compresses with gzip only (deflate too, which Collectors do not accept over gRPC).',
  }),
};

const BUFFER_NOTE =
  "Accepted as in the Collector; grpc-js has no such setting (Node sizes the HTTP/2 socket's buffers), so it has no effect.";

const fields = {
  /**
   * The backend's OTLP/gRPC address.
   * @default localhost:4317
   */
  endpoint: grpcEndpoint({
    default: 'localhost:4317',
    description:
      'The OTLP/gRPC backend. https:// turns TLS on whatever tls.insecure says; http:// does not turn it off.',
  }),
  tls: tlsClient,
  /** Sent with every request as gRPC metadata, e.g. an API key. */
  headers,
  /** @default gzip */
  compression,
  /**
   * Deadline of one export request.
   * @default 5s
   */
  timeout: duration({ default: 5_000, minMs: 1, description: 'Deadline of one export request.' }),
  retry_on_failure: retryOnFailure,
  sending_queue: sendingQueue,
  /** The Collector's default keepalive: a ping after 10 s idle, 10 s to answer. */
  keepalive: object(
    {
      /** @default 10s */
      time: duration({ default: 10_000, minMs: 1, description: 'Ping the backend after this long without activity.' }),
      /** @default 10s */
      timeout: duration({
        default: 10_000,
        minMs: 1,
        description: 'Close the connection when a ping is not answered within this.',
      }),
      /** @default false */
      permit_without_stream: boolean({
        default: false,
        description: 'Ping also when no request is in flight.',
      }),
    },
    { description: 'HTTP/2 keepalive pings, which find a dead connection before an export does.' },
  ),
  /** @default round_robin */
  balancer_name: oneOf(['round_robin', 'pick_first'] as const, {
    default: 'round_robin',
    description: 'How requests spread over the addresses the name resolves to.',
  }),
  authority: optional(string({ nonEmpty: true, description: 'The :authority header, instead of the endpoint.' })),
  /** @default false */
  wait_for_ready: boolean({
    default: false,
    description: 'Wait for the connection (up to timeout) instead of failing at once while it is down.',
  }),
  read_buffer_size: optional(integer({ min: 0, max: 1 << 30, description: BUFFER_NOTE })),
  write_buffer_size: optional(integer({ min: 0, max: 1 << 30, description: BUFFER_NOTE })),
  auth: refused(
    'would take credentials from an authenticator extension (bearertokenauth, oauth2client...); dropreason has no authenticator extensions: put the credential in headers, e.g. authorization: "Bearer ${file:/var/run/secrets/token}"',
  ),
  middlewares: refused('would run middleware extensions around each request; dropreason has no middleware extensions'),
};

export const configSchema = object(fields, { description: 'Sends the metrics to a backend over OTLP/gRPC.' });
export type OtlpConfig = Parsed<typeof fields>;
export type { TlsConfig, RetryConfig } from '../exporterhelper/config.js';
