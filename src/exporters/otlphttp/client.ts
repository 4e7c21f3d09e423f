/**
 * The wire: one OTLP/HTTP POST per ResourceMetrics (to /v1/metrics) or ResourceLogs (to /v1/logs). The body comes from the OpenTelemetry
 * JS OTLP serializers (@opentelemetry/otlp-transformer: protobuf or JSON, the ones its
 * OTLP/HTTP exporter uses); the request goes over Node's http/https. One request is one
 * attempt: the retries and the queue in exporterhelper are the only ones.
 *
 * Why not @opentelemetry/exporter-metrics-otlp-http: docs/architecture.md has the
 * measurement. In short, its export() retries inside itself on a fixed schedule, so one
 * call against a backend that is down takes several requests and seconds, whatever
 * retry_on_failure says, and a Retry-After only reaches its own retries.
 */
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
} from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { ResourceLogs } from '../../service/component.js';
import { VERSION } from '../../version.js';
import type { MetricsSender, Sender, SendResult } from '../exporterhelper/exporter.js';
import { logRecordsOf } from '../exporterhelper/logs.js';
import { connectOptions, loadTls, TlsReloader } from '../exporterhelper/tls.js';
import { type HttpCompression, logsUrl, metricsUrl, type OtlpHttpConfig } from './config.js';
import { HttpStatusError, parseRetryAfter } from './retry.js';

export { HttpStatusError, httpFailure, parseRetryAfter, RETRYABLE_STATUSES } from './retry.js';

const CONTENT_TYPE = { proto: 'application/x-protobuf', json: 'application/json' } as const;
const ENCODING: Record<Exclude<HttpCompression, 'none'>, string> = {
  gzip: 'gzip',
  zlib: 'deflate',
  deflate: 'deflate',
  zstd: 'zstd',
};
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
const zstd = promisify(zlib.zstdCompress);

export async function compress(body: Uint8Array, how: HttpCompression): Promise<Uint8Array> {
  switch (how) {
    case 'none':
      return body;
    case 'gzip':
      return gzip(body);
    case 'zlib':
    case 'deflate':
      return deflate(body);
    case 'zstd':
      return zstd(body);
  }
}

/** The request body for one batch, in the configured encoding; undefined if the serializer gives none. */
export function serialize(metrics: ResourceMetrics, encoding: OtlpHttpConfig['encoding']): Uint8Array | undefined {
  return encoding === 'json'
    ? JsonMetricsSerializer.serializeRequest(metrics)
    : ProtobufMetricsSerializer.serializeRequest(metrics);
}

/** The request body of one batch of logs, in the configured encoding. */
export function serializeLogs(logs: ResourceLogs, encoding: OtlpHttpConfig['encoding']): Uint8Array | undefined {
  const records = logRecordsOf(logs);
  return encoding === 'json'
    ? JsonLogsSerializer.serializeRequest(records)
    : ProtobufLogsSerializer.serializeRequest(records);
}

/** One signal over HTTP: where it goes, its body, and how many items a 2xx answer rejected. */
interface Wire<T> {
  url(config: OtlpHttpConfig): string;
  serialize(batch: T, encoding: OtlpHttpConfig['encoding']): Uint8Array | undefined;
  rejected(body: Buffer, json: boolean): { count: number; message: string | undefined };
}

const METRICS_WIRE: Wire<ResourceMetrics> = {
  url: metricsUrl,
  serialize,
  rejected: (body, json) => {
    const partial = (json ? JsonMetricsSerializer : ProtobufMetricsSerializer).deserializeResponse(body).partialSuccess;
    return { count: Number(partial?.rejectedDataPoints ?? 0), message: partial?.errorMessage };
  },
};

const LOGS_WIRE: Wire<ResourceLogs> = {
  url: logsUrl,
  serialize: serializeLogs,
  rejected: (body, json) => {
    const partial = (json ? JsonLogsSerializer : ProtobufLogsSerializer).deserializeResponse(body).partialSuccess;
    return { count: Number(partial?.rejectedLogRecords ?? 0), message: partial?.errorMessage };
  },
};

/** The partial-success part of a 2xx answer, if the backend rejected some data points or records. */
function partialSuccess<T>(body: Buffer, contentType: string | undefined, wire: Wire<T>): SendResult['rejected'] {
  if (body.length === 0) return undefined;
  try {
    const { count, message } = wire.rejected(body, contentType?.includes('json') ?? false);
    if (count > 0 || message) return { dataPoints: count, message: message ?? '' };
  } catch {
    // An answer we cannot read still means the request was accepted.
  }
  return undefined;
}

/** The first line of a non-2xx body when it is text, for the log. */
function detail(body: Buffer, contentType: string | undefined): string {
  if (!contentType || !/text|json/.test(contentType)) return '';
  return body.toString('utf8', 0, Math.min(body.length, 300)).split('\n')[0]!.trim();
}

/** At most this much of an answer is read: OTLP answers are small. */
const MAX_RESPONSE_BYTES = 64 * 1024;

class HttpSender<T> implements Sender<T> {
  private agent: http.Agent | undefined;
  private url: URL | undefined;
  private readonly reload: TlsReloader;

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly wire: Wire<T>,
  ) {
    this.reload = new TlsReloader(config.tls.reload_interval);
  }

  /** Made on the first request, and again when tls.reload_interval is due (reads the PEM files). */
  private currentAgent(url: URL): http.Agent {
    const keepAlive = !this.config.disable_keep_alives;
    if (url.protocol === 'http:') return (this.agent ??= new http.Agent({ keepAlive }));
    if (this.reload.due(Date.now()) || !this.agent) {
      this.agent?.destroy();
      this.agent = new https.Agent({ keepAlive, ...connectOptions(loadTls(this.config.tls)) });
    }
    return this.agent;
  }

  async send(batch: T): Promise<SendResult> {
    const raw = this.wire.serialize(batch, this.config.encoding);
    if (!raw)
      return { error: Object.assign(new Error('the OTLP serializer produced no request'), { code: 'ERR_SERIALIZE' }) };
    let url: URL;
    try {
      url = this.url ??= new URL(this.wire.url(this.config));
    } catch (err) {
      return { error: Object.assign(err as Error, { code: 'ERR_NO_ENDPOINT' }) };
    }
    let agent: http.Agent;
    try {
      agent = this.currentAgent(url);
    } catch (err) {
      return { error: err as Error };
    }
    const body = await compress(raw, this.config.compression);
    const headers: Record<string, string | number> = {
      ...this.config.headers,
      'Content-Type': CONTENT_TYPE[this.config.encoding],
      'Content-Length': body.length,
      'User-Agent': `dropreason/${VERSION}`,
    };
    if (this.config.compression !== 'none') headers['Content-Encoding'] = ENCODING[this.config.compression];
    const request = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<SendResult>((resolve) => {
      const req = request(url, {
        method: 'POST',
        agent,
        headers,
        signal: AbortSignal.timeout(this.config.timeout),
      });
      req.on('error', (error) => resolve({ error }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('error', (error) => resolve({ error }));
        res.on('end', () => {
          const answer = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          const contentType = res.headers['content-type'];
          if (status >= 200 && status < 300) {
            resolve({ rejected: partialSuccess(answer, contentType, this.wire) });
            return;
          }
          const retryAfter = parseRetryAfter(res.headers['retry-after']);
          resolve({ error: new HttpStatusError(status, retryAfter, detail(answer, contentType)) });
        });
      });
      req.end(body);
    });
  }

  async shutdown(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

/** Creating the sender opens nothing: the first request connects (and reads the TLS files). */
export const httpSender = (config: OtlpHttpConfig): MetricsSender => new HttpSender(config, METRICS_WIRE);

/** The same for logs, posted to logs_endpoint or endpoint + /v1/logs. */
export const httpLogsSender = (config: OtlpHttpConfig): Sender<ResourceLogs> => new HttpSender(config, LOGS_WIRE);
