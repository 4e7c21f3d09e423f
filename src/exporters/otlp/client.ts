/**
 * The wire: one OTLP/gRPC Export call per ResourceMetrics, through the OpenTelemetry JS
 * OTLPMetricExporter. It serializes with the official OTLP protobuf layout and sends
 * over @grpc/grpc-js; it makes exactly one attempt per call (for gRPC it neither retries
 * nor queues), so the retries and the queue in exporter.ts are the only ones.
 */
import fs from 'node:fs';

import { type ChannelCredentials, credentials, Metadata, type VerifyOptions } from '@grpc/grpc-js';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { ExportResultCode } from '@opentelemetry/core';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { OtlpConfig, TlsConfig } from './config.js';

/** Sends one batch. Resolves with undefined when the backend accepted it, else the error. */
export interface MetricsSender {
  send(metrics: ResourceMetrics): Promise<Error | undefined>;
  /** Closes the connection; sends still pending are abandoned. */
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

/**
 * The sender over OTLPMetricExporter. Creating it opens no connection: gRPC connects on
 * the first send. The library also reads the OTEL_EXPORTER_OTLP_* environment variables,
 * but every setting we pass wins over them; only headers from
 * OTEL_EXPORTER_OTLP_[METRICS_]HEADERS are added where the config does not set the name.
 */
export const grpcSender: SenderFactory = (config) => {
  const exporter = new OTLPMetricExporter({
    url: target(config.endpoint),
    credentials: channelCredentials(config.tls),
    metadata: grpcMetadata(config.headers),
    compression: config.compression === 'gzip' ? 'gzip' : 'none',
    timeoutMillis: config.timeout,
    // One export at a time is all the queue ever asks for.
    concurrencyLimit: 1,
  } as ConstructorParameters<typeof OTLPMetricExporter>[0]);
  return {
    send: (metrics) =>
      new Promise((resolve) => {
        // The library's sdk-metrics is a patch release away from ours: the data is the same
        // shape, but TypeScript sees two distinct enum declarations inside it.
        exporter.export(metrics as unknown as Parameters<OTLPMetricExporter['export']>[0], (result) =>
          resolve(
            result.code === ExportResultCode.SUCCESS
              ? undefined
              : (result.error ?? new Error('export failed without an error')),
          ),
        );
      }),
    shutdown: () => exporter.shutdown(),
  };
};
