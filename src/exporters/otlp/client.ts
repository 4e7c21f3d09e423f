/**
 * The wire: one OTLP/gRPC Export call per ResourceMetrics (MetricsService) or ResourceLogs
 * (LogsService). The request bytes come from
 * the OpenTelemetry JS OTLP serializer (@opentelemetry/otlp-transformer, the one its
 * OTLPMetricExporter uses); the call goes over @grpc/grpc-js. One call is one attempt:
 * the retries and the queue in exporter.ts are the only ones.
 *
 * Why not OTLPMetricExporter itself: it builds its gRPC client with fixed channel options,
 * so grpc-js keeps its default reconnect backoff (1 s growing to 120 s). While that
 * backoff runs, every export fails at once with UNAVAILABLE, whatever our own retry
 * schedule says: measured here, a 150 s outage was followed by 82 s more of failures
 * after the backend was back. Here the reconnect backoff follows retry_on_failure, so
 * the agent reconnects within max_interval of the backend's return.
 */
import tls from 'node:tls';

import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  compressionAlgorithms,
  credentials,
  Metadata,
  status,
} from '@grpc/grpc-js';
import { ProtobufLogsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { ResourceLogs } from '../../service/component.js';
import { VERSION } from '../../version.js';
import type { MetricsSender, Sender, SendResult } from '../exporterhelper/exporter.js';
import { logRecordsOf } from '../exporterhelper/logs.js';
import { loadTls, TlsReloader } from '../exporterhelper/tls.js';
import type { OtlpConfig, TlsConfig } from './config.js';

export type { MetricsSender, SendResult };

/**
 * Channel credentials for the tls settings; reads the PEM files, so it is not for
 * constructors. Plain text when tls.insecure, unless the endpoint was written https://.
 */
export function channelCredentials(config: Pick<OtlpConfig, 'tls' | 'endpoint'>): ChannelCredentials {
  const t: TlsConfig = config.tls;
  if (t.insecure && !config.endpoint.https) return credentials.createInsecure();
  const material = loadTls(t);
  const context = tls.createSecureContext({
    ...(material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.key ? { key: material.key } : {}),
    minVersion: material.minVersion,
    ...(material.maxVersion ? { maxVersion: material.maxVersion } : {}),
  });
  return credentials.createFromSecureContext(
    context,
    material.verify ? {} : { rejectUnauthorized: false, checkServerIdentity: () => undefined },
  );
}

export function grpcMetadata(headers: Record<string, string>, waitForReady = false): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  if (waitForReady) metadata.setOptions({ waitForReady: true });
  return metadata;
}

/** What grpc-js dials: `host:port` (IPv6 hosts in brackets) or `unix:///path`. */
export function target(endpoint: OtlpConfig['endpoint']): string {
  return endpoint.target;
}

/**
 * The channel's settings: compression, keepalive, balancer, authority, the name TLS
 * verifies, and a reconnect backoff that follows retry_on_failure.
 */
export function channelOptions(config: OtlpConfig): ChannelOptions {
  const retry = config.retry_on_failure;
  const options: ChannelOptions = {
    'grpc.primary_user_agent': `dropreason/${VERSION}`,
    'grpc.default_compression_algorithm':
      config.compression === 'gzip' ? compressionAlgorithms.gzip : compressionAlgorithms.identity,
    'grpc.initial_reconnect_backoff_ms': Math.min(1000, retry.initial_interval),
    'grpc.max_reconnect_backoff_ms': retry.max_interval,
    // A connection of our own, not one shared with other clients of the same address
    // (grpc-js pools them): closing the client then really drops the connection.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.keepalive_time_ms': config.keepalive.time,
    'grpc.keepalive_timeout_ms': config.keepalive.timeout,
    'grpc.keepalive_permit_without_calls': config.keepalive.permit_without_stream ? 1 : 0,
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ [config.balancer_name]: {} }] }),
  };
  if (config.authority) options['grpc.default_authority'] = config.authority;
  if (config.tls.server_name_override) options['grpc.ssl_target_name_override'] = config.tls.server_name_override;
  return options;
}

/** One signal on the wire: its Export method, its request bytes, its partial-success answer. */
interface Wire<T> {
  path: string;
  serialize(batch: T): Uint8Array | undefined;
  rejected(response: Buffer): SendResult['rejected'];
}

const METRICS_WIRE: Wire<ResourceMetrics> = {
  path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  serialize: (metrics) => ProtobufMetricsSerializer.serializeRequest(metrics),
  rejected: (response) => {
    const partial = ProtobufMetricsSerializer.deserializeResponse(response).partialSuccess;
    return partialOf(Number(partial?.rejectedDataPoints ?? 0), partial?.errorMessage);
  },
};

export const LOGS_WIRE: Wire<ResourceLogs> = {
  path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  serialize: (logs) => ProtobufLogsSerializer.serializeRequest(logRecordsOf(logs)),
  rejected: (response) => {
    const partial = ProtobufLogsSerializer.deserializeResponse(response).partialSuccess;
    return partialOf(Number(partial?.rejectedLogRecords ?? 0), partial?.errorMessage);
  },
};

function partialOf(rejected: number, message: string | undefined): SendResult['rejected'] {
  if (rejected > 0 || message) return { dataPoints: rejected, message: message ?? '' };
  return undefined;
}
/** The request and the answer stay bytes: the OTLP serializer makes and reads them. */
const asBytes = (b: Buffer) => b;

/**
 * After this many DEADLINE_EXCEEDED in a row the connection is dropped and made anew:
 * it may be half dead (a backend gone without closing it), where only a new one helps.
 */
const STALE_AFTER_DEADLINES = 3;

class GrpcSender<T> implements Sender<T> {
  private client: Client | undefined;
  private deadlines = 0;
  private readonly metadata: Metadata;
  private readonly options: ChannelOptions;
  private readonly reload: TlsReloader;

  constructor(
    private readonly config: OtlpConfig,
    private credentials: ChannelCredentials,
    private readonly wire: Wire<T>,
  ) {
    this.metadata = grpcMetadata(config.headers, config.wait_for_ready);
    this.options = channelOptions(config);
    this.reload = new TlsReloader(config.tls.reload_interval);
    this.reload.due(Date.now());
  }

  send(batch: T): Promise<SendResult> {
    const body = this.wire.serialize(batch);
    if (!body) return Promise.resolve({ error: new Error('the OTLP serializer produced no request') });
    if (this.reload.due(Date.now())) {
      // tls.reload_interval: read the certificates again; the next connection uses them.
      try {
        this.credentials = channelCredentials(this.config);
        this.client?.close();
        this.client = undefined;
      } catch (err) {
        return Promise.resolve({ error: err as Error });
      }
    }
    const client = (this.client ??= new Client(this.config.endpoint.target, this.credentials, this.options));
    const options = { deadline: Date.now() + this.config.timeout };
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        this.wire.path,
        asBytes,
        asBytes,
        Buffer.from(body),
        this.metadata.clone(),
        options,
        (error, response) => {
          if (error) {
            this.noteDeadline(error.code === status.DEADLINE_EXCEEDED, client);
            resolve({ error });
            return;
          }
          this.deadlines = 0;
          resolve({ rejected: partialSuccess(response, this.wire) });
        },
      );
    });
  }

  private noteDeadline(exceeded: boolean, client: Client): void {
    this.deadlines = exceeded ? this.deadlines + 1 : 0;
    if (this.deadlines >= STALE_AFTER_DEADLINES && this.client === client) {
      client.close();
      this.client = undefined;
      this.deadlines = 0;
    }
  }

  async shutdown(): Promise<void> {
    this.client?.close();
    this.client = undefined;
  }
}

/** The backend's partial-success answer, if it rejected some data points or log records. */
function partialSuccess<T>(response: Buffer | undefined, wire: Wire<T>): SendResult['rejected'] {
  if (!response || response.length === 0) return undefined;
  try {
    return wire.rejected(response);
  } catch {
    // An answer we cannot read still means the request was accepted.
  }
  return undefined;
}

/** Creating the sender reads the TLS files but opens no connection: gRPC connects on the first send. */
export const grpcSender = (config: OtlpConfig): MetricsSender =>
  new GrpcSender(config, channelCredentials(config), METRICS_WIRE);

/** The same for logs: LogsService/Export on a connection of its own. */
export const grpcLogsSender = (config: OtlpConfig): Sender<ResourceLogs> =>
  new GrpcSender(config, channelCredentials(config), LOGS_WIRE);
