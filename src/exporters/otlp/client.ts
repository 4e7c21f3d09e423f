/**
 * The wire: one OTLP/gRPC Export call per ResourceMetrics. The request bytes come from
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
import fs from 'node:fs';

import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  compressionAlgorithms,
  credentials,
  Metadata,
  status,
  type VerifyOptions,
} from '@grpc/grpc-js';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import { VERSION } from '../../version.js';
import type { OtlpConfig, TlsConfig } from './config.js';

/** What one export request came to. */
export interface SendResult {
  /** Undefined when the backend accepted the request. */
  error?: Error | undefined;
  /** Data points the backend said it rejected although it answered OK (partial success). */
  rejected?: { dataPoints: number; message: string } | undefined;
}

/** Sends one batch per call. */
export interface MetricsSender {
  send(metrics: ResourceMetrics): Promise<SendResult>;
  /** Closes the connection; calls still pending are abandoned. */
  shutdown(): Promise<void>;
}

export type SenderFactory = (config: OtlpConfig) => MetricsSender;

/** The TLS files the config names, as `[setting, path]`. */
export function tlsFiles(tls: TlsConfig): Array<[string, string]> {
  if (tls.insecure) return [];
  const files: Array<[string, string | undefined]> = [
    ['ca_file', tls.ca_file],
    ['cert_file', tls.cert_file],
    ['key_file', tls.key_file],
  ];
  return files.filter((f): f is [string, string] => f[1] !== undefined);
}

function readTlsFile(setting: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`tls.${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

/** Channel credentials for the tls settings; reads the PEM files, so it is not for constructors. */
export function channelCredentials(tls: TlsConfig): ChannelCredentials {
  if (tls.insecure) return credentials.createInsecure();
  const read = (setting: string, file: string | undefined) => (file ? readTlsFile(setting, file) : null);
  const verify: VerifyOptions = tls.insecure_skip_verify
    ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
    : {};
  return credentials.createSsl(
    read('ca_file', tls.ca_file),
    read('key_file', tls.key_file),
    read('cert_file', tls.cert_file),
    verify,
  );
}

export function grpcMetadata(headers: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}

/** `host:port` with IPv6 hosts in brackets, as gRPC targets are written. */
export function target(endpoint: OtlpConfig['endpoint']): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}

/** The channel's settings: compression, and a reconnect backoff that follows retry_on_failure. */
export function channelOptions(config: OtlpConfig): ChannelOptions {
  const retry = config.retry_on_failure;
  return {
    'grpc.primary_user_agent': `dropreason/${VERSION}`,
    'grpc.default_compression_algorithm':
      config.compression === 'gzip' ? compressionAlgorithms.gzip : compressionAlgorithms.identity,
    'grpc.initial_reconnect_backoff_ms': Math.min(1000, retry.initial_interval),
    'grpc.max_reconnect_backoff_ms': retry.max_interval,
    // A connection of our own, not one shared with other clients of the same address
    // (grpc-js pools them): closing the client then really drops the connection.
    'grpc.use_local_subchannel_pool': 1,
  };
}

const EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
/** The request and the answer stay bytes: the OTLP serializer makes and reads them. */
const asBytes = (b: Buffer) => b;

/**
 * After this many DEADLINE_EXCEEDED in a row the connection is dropped and made anew:
 * it may be half dead (a backend gone without closing it), where only a new one helps.
 */
const STALE_AFTER_DEADLINES = 3;

class GrpcSender implements MetricsSender {
  private client: Client | undefined;
  private deadlines = 0;
  private readonly metadata: Metadata;
  private readonly options: ChannelOptions;

  constructor(
    private readonly config: OtlpConfig,
    private readonly credentials: ChannelCredentials,
  ) {
    this.metadata = grpcMetadata(config.headers);
    this.options = channelOptions(config);
  }

  send(metrics: ResourceMetrics): Promise<SendResult> {
    const body = ProtobufMetricsSerializer.serializeRequest(metrics);
    if (!body) return Promise.resolve({ error: new Error('the OTLP serializer produced no request') });
    const client = (this.client ??= new Client(target(this.config.endpoint), this.credentials, this.options));
    const options = { deadline: Date.now() + this.config.timeout };
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        EXPORT_PATH,
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
          resolve({ rejected: partialSuccess(response) });
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

/** The backend's partial-success answer, if it rejected some data points. */
function partialSuccess(response: Buffer | undefined): SendResult['rejected'] {
  if (!response || response.length === 0) return undefined;
  try {
    const partial = ProtobufMetricsSerializer.deserializeResponse(response).partialSuccess;
    const dataPoints = partial?.rejectedDataPoints ?? 0;
    if (dataPoints > 0 || partial?.errorMessage) return { dataPoints, message: partial?.errorMessage ?? '' };
  } catch {
    // An answer we cannot read still means the request was accepted.
  }
  return undefined;
}

/** Creating the sender reads the TLS files but opens no connection: gRPC connects on the first send. */
export const grpcSender: SenderFactory = (config) => new GrpcSender(config, channelCredentials(config.tls));
