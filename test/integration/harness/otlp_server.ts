/**
 * Real OTLP metrics backends in the test process. OtlpServer is OTLP/gRPC: it serves
 * opentelemetry.proto.collector.metrics.v1.MetricsService/Export with @grpc/grpc-js,
 * decodes each request with the official OTLP .proto files, and keeps what it received;
 * it serves LogsService/Export too (always answering OK), keeping the log requests apart.
 * It can be stopped and started again on the same port, answer late, or answer with an
 * error status, to play a backend that fails.
 *
 * The .proto files come from the npm package @opentelemetry/otlp-grpc-exporter-base
 * 0.38.0 (installed under the alias otlp-proto-files), the last release that shipped the
 * opentelemetry-proto sources themselves; newer OpenTelemetry JS packages carry only
 * encoders.
 */
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

import { closeAtOnce } from './close.js';

const require = createRequire(import.meta.url);
const PROTO_ROOT = path.join(path.dirname(require.resolve('otlp-proto-files/package.json')), 'build/protos');
const SERVICE_PROTO = 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto';
const LOGS_SERVICE_PROTO = 'opentelemetry/proto/collector/logs/v1/logs_service.proto';

/** The decoded request, as @grpc/proto-loader gives it (snake_case keys, 64-bit integers as strings). */
export interface KeyValue {
  key: string;
  value: { string_value?: string; int_value?: string; bool_value?: boolean; double_value?: number; value?: string };
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  start_time_unix_nano: string;
  time_unix_nano: string;
  as_int?: string;
  as_double?: number;
  value?: 'as_int' | 'as_double';
}

export interface Metric {
  name: string;
  description: string;
  unit: string;
  data?: 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';
  sum?: { data_points: NumberDataPoint[]; aggregation_temporality: string; is_monotonic: boolean };
}

export interface ResourceMetrics {
  resource: { attributes: KeyValue[] };
  scope_metrics: Array<{ scope: { name: string; version: string }; metrics: Metric[] }>;
}

export interface ExportRequest {
  resource_metrics: ResourceMetrics[];
}

export interface LogRecord {
  time_unix_nano: string;
  observed_time_unix_nano: string;
  severity_number: string;
  severity_text: string;
  body: KeyValue['value'];
  attributes: KeyValue[];
}

export interface ExportLogsRequest {
  resource_logs: Array<{
    resource: { attributes: KeyValue[] };
    scope_logs: Array<{ scope: { name: string; version: string }; log_records: LogRecord[] }>;
  }>;
}

/** One log record with its resource's attributes beside its own (as strings). */
export interface ReceivedLogRecord {
  resource: Record<string, string>;
  attributes: Record<string, string>;
  body: string;
  timeUnixNano: bigint;
}

/** Every log record of the log requests received so far. */
export function logRecords(requests: ExportLogsRequest[]): ReceivedLogRecord[] {
  const out: ReceivedLogRecord[] = [];
  for (const request of requests) {
    for (const rl of request.resource_logs) {
      const resource = attributes(rl.resource.attributes);
      for (const sl of rl.scope_logs) {
        for (const r of sl.log_records) {
          out.push({
            resource,
            attributes: attributes(r.attributes),
            body: String(r.body.string_value ?? ''),
            timeUnixNano: BigInt(r.time_unix_nano),
          });
        }
      }
    }
  }
  return out;
}

/** One Export call as the server saw it. */
export interface Received {
  /** When the request arrived (ms since the epoch). */
  at: number;
  request: ExportRequest;
  metadata: Record<string, string>;
  /** What the server answered: 'OK' or a gRPC status name. */
  answer: string;
}

/** How the server answers the next requests. */
export type Behaviour =
  | { kind: 'ok' }
  /** Answers after `delayMs` (longer than the client's deadline makes a DEADLINE_EXCEEDED). */
  | { kind: 'slow'; delayMs: number }
  /** Answers with `code` for the next `times` requests (forever when omitted), then OK. */
  | { kind: 'error'; code: grpc.status; times?: number };

type ExportHandler = grpc.handleUnaryCall<ExportRequest, Record<string, never>>;

/** A collector service from the official protos: e.g. ('metrics', 'MetricsService'). */
function loadService(proto: string, signal: 'metrics' | 'logs', name: string): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(proto, {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: Record<string, { v1: Record<string, grpc.ServiceClientConstructor> }> } };
  };
  return pkg.opentelemetry.proto.collector[signal]!.v1[name]!.service;
}

/** What both backends keep: each request as they saw it, and waiting for some to arrive. */
export class Recording<R extends Received> {
  readonly received: R[] = [];

  /** The requests answered OK so far. */
  accepted(): R[] {
    return this.received.filter((r) => r.answer === 'OK');
  }

  /** Waits until `predicate` holds for the received requests, polling. */
  async waitFor(what: string, predicate: (received: R[]) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export class OtlpServer extends Recording<Received> {
  /** The LogsService/Export requests, decoded. */
  readonly logs: ExportLogsRequest[] = [];
  behaviour: Behaviour = { kind: 'ok' };
  private server: grpc.Server | undefined;
  private readonly service = loadService(SERVICE_PROTO, 'metrics', 'MetricsService');
  private readonly pending = new Set<NodeJS.Timeout>();

  private constructor(
    public port: number,
    private readonly tls: { key: Buffer; cert: Buffer } | undefined,
  ) {
    super();
  }

  /** Listens on 127.0.0.1:`port` (0 picks a free port), in plain text or with `tls`. */
  static async start(port = 0, opts: { tls?: { key: Buffer; cert: Buffer } } = {}): Promise<OtlpServer> {
    const server = new OtlpServer(port, opts.tls);
    await server.listen();
    return server;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = new grpc.Server();
    server.addService(this.service, { Export: this.handle });
    server.addService(loadService(LOGS_SERVICE_PROTO, 'logs', 'LogsService'), {
      Export: (
        call: grpc.ServerUnaryCall<ExportLogsRequest, unknown>,
        callback: grpc.sendUnaryData<Record<string, never>>,
      ) => {
        this.logs.push(call.request);
        callback(null, {});
      },
    });
    const credentials = this.tls
      ? grpc.ServerCredentials.createSsl(null, [{ private_key: this.tls.key, cert_chain: this.tls.cert }])
      : grpc.ServerCredentials.createInsecure();
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, credentials, (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.server = server;
  }

  /** Closes every connection at once, as a backend that dies does. */
  async stop(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    const server = this.server;
    this.server = undefined;
    server?.forceShutdown();
  }

  private readonly handle: ExportHandler = (call, callback) => {
    const metadata = Object.fromEntries(
      Object.entries(call.metadata.getMap()).map(([k, v]) => [k, typeof v === 'string' ? v : v.toString('base64')]),
    );
    const entry: Received = { at: Date.now(), request: call.request, metadata, answer: 'OK' };
    this.received.push(entry);
    const b = this.behaviour;
    if (b.kind === 'error') {
      if (b.times !== undefined && b.times <= 0) this.behaviour = { kind: 'ok' };
      else {
        if (b.times !== undefined) b.times--;
        entry.answer = grpc.status[b.code];
        callback({ code: b.code, details: `test server answers ${grpc.status[b.code]}` });
        return;
      }
    }
    if (b.kind === 'slow') {
      entry.answer = 'OK (late)';
      const t = setTimeout(() => {
        this.pending.delete(t);
        callback(null, {});
      }, b.delayMs);
      this.pending.add(t);
      return;
    }
    callback(null, {});
  };
}

/** A KeyValue list as a plain record of strings (ints and bools written out). */
export function attributes(list: KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of list) {
    const v = value.value ? value[value.value as keyof KeyValue['value']] : undefined;
    out[key] = String(v ?? '');
  }
  return out;
}

/** Every sum data point of metric `name` in a request, with the metric beside it. */
export function sumPoints(request: ExportRequest, name: string): Array<{ metric: Metric; point: NumberDataPoint }> {
  const out: Array<{ metric: Metric; point: NumberDataPoint }> = [];
  for (const rm of request.resource_metrics) {
    for (const sm of rm.scope_metrics) {
      for (const m of sm.metrics) {
        if (m.name !== name || !m.sum) continue;
        for (const point of m.sum.data_points) out.push({ metric: m, point });
      }
    }
  }
  return out;
}

/**
 * The sum of the points of `name` whose attributes include `labels` (a drop's location, say,
 * may split them), or undefined if none does.
 */
export function sumValue(request: ExportRequest, name: string, labels: Record<string, string>): number | undefined {
  let sum: number | undefined;
  for (const { point } of sumPoints(request, name)) {
    const attrs = attributes(point.attributes);
    if (Object.entries(labels).every(([k, v]) => attrs[k] === v)) {
      sum = (sum ?? 0) + (point.value === 'as_double' ? point.as_double! : Number(point.as_int));
    }
  }
  return sum;
}

/** A series the agent exports: its count and bytes metrics, and the labels that pick it out. */
export interface DropSeries {
  count: string;
  bytes: string;
  labels: Record<string, string>;
}

/** The agent's egress IPTABLE_RULE_DROP series: the drops the OTLP tests make and count. */
export const RULE_DROPS: DropSeries = {
  count: 'dropreason.drop.count',
  bytes: 'dropreason.drop.bytes',
  labels: { reason: 'IPTABLE_RULE_DROP', direction: 'egress' },
};

/** The requests `server` accepted that carry `series`. */
export function requestsWith<R extends Received>(server: Recording<R>, series: DropSeries): R[] {
  return server.accepted().filter((r) => sumValue(r.request, series.count, series.labels) !== undefined);
}

/** The packets and bytes of `series` in the newest accepted request that carries it, or undefined. */
export function latestTotals(
  server: Recording<Received>,
  series: DropSeries,
): { packets: number; bytes: number } | undefined {
  const last = requestsWith(server, series).at(-1);
  if (!last) return undefined;
  return {
    packets: sumValue(last.request, series.count, series.labels)!,
    bytes: sumValue(last.request, series.bytes, series.labels)!,
  };
}

/**
 * Waits until the newest export carries `packets` of `series`, then two more collections
 * (`intervalMs` each), and returns what the newest export carries then: an overcount is
 * seen, not hidden.
 */
export async function settleTotals(
  server: Recording<Received>,
  series: DropSeries,
  packets: number,
  intervalMs: number,
  timeoutMs = 60_000,
): Promise<{ packets: number; bytes: number }> {
  await server.waitFor(
    `an export with ${packets} packets`,
    () => (latestTotals(server, series)?.packets ?? -1) >= packets,
    timeoutMs,
  );
  await new Promise((r) => setTimeout(r, intervalMs * 2 + 200));
  return latestTotals(server, series)!;
}

/** One data point with its resource's attributes beside its own. */
export interface ResourcePoint {
  resource: Record<string, string>;
  attributes: Record<string, string>;
  value: number;
}

/** Every sum data point of metric `name` in a request, each with its ResourceMetrics' attributes. */
export function resourcePoints(request: ExportRequest, name: string): ResourcePoint[] {
  const out: ResourcePoint[] = [];
  for (const rm of request.resource_metrics) {
    const resource = attributes(rm.resource.attributes);
    for (const sm of rm.scope_metrics) {
      for (const m of sm.metrics) {
        if (m.name !== name || !m.sum) continue;
        for (const p of m.sum.data_points) {
          const value = p.value === 'as_double' ? p.as_double! : Number(p.as_int);
          out.push({ resource, attributes: attributes(p.attributes), value });
        }
      }
    }
  }
  return out;
}

/** How the HTTP server answers the next requests. */
export type HttpBehaviour =
  | { kind: 'ok' }
  /** Answers `status` (with `retryAfter`, when given, as the Retry-After header) `times` times, then OK. */
  | { kind: 'status'; status: number; times?: number; retryAfter?: string };

/** One POST as the HTTP server saw it. */
export interface HttpReceived extends Received {
  headers: http.IncomingHttpHeaders;
  /** The body's size on the wire (compressed). */
  bytes: number;
}

const REQUEST_TYPE = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest';

/**
 * A real OTLP/HTTP metrics backend in the test process: POST /v1/metrics (or any path
 * given), bodies in protobuf or OTLP JSON, gzip, deflate or zstd compressed, decoded with
 * the official OTLP .proto files (JSON through protobufjs's reading of the same files,
 * then the same decoder as protobuf). It can be stopped and started on the same port, or
 * answer a status with a Retry-After. It takes logs too, at POST /v1/logs (`logsPath`),
 * decoded the same way and kept apart, always answering OK.
 */
export class OtlpHttpServer extends Recording<HttpReceived> {
  /** The logs requests, decoded. */
  readonly logs: ExportLogsRequest[] = [];
  /** Where logs are taken. */
  logsPath = '/v1/logs';
  behaviour: HttpBehaviour = { kind: 'ok' };
  private server: http.Server | undefined;
  private readonly service = loadService(SERVICE_PROTO, 'metrics', 'MetricsService');
  private readonly requestType = loadRequestType();
  private readonly logsService = loadService(LOGS_SERVICE_PROTO, 'logs', 'LogsService');
  private readonly logsRequestType = loadRequestType(LOGS_SERVICE_PROTO, LOGS_REQUEST_TYPE);

  private constructor(
    public port: number,
    readonly path: string,
    private readonly tls: { key: Buffer; cert: Buffer } | undefined,
  ) {
    super();
  }

  /** Listens on 127.0.0.1:`port` (0 picks a free port), over HTTP or, with `tls`, HTTPS. */
  static async start(
    port = 0,
    path = '/v1/metrics',
    opts: { tls?: { key: Buffer; cert: Buffer } } = {},
  ): Promise<OtlpHttpServer> {
    const server = new OtlpHttpServer(port, path, opts.tls);
    await server.listen();
    return server;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    const server = this.tls ? https.createServer(this.tls, handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Closes every connection at once, as a backend that dies does. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeAtOnce(server);
  }

  private decode(body: Buffer, contentType: string | undefined): ExportRequest {
    return this.service['Export']!.requestDeserialize(protobufOf(body, contentType, this.requestType)) as ExportRequest;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const wire = Buffer.concat(chunks);
    if (req.method === 'POST' && req.url === this.logsPath) {
      const bytes = protobufOf(
        uncompressed(wire, req.headers['content-encoding']),
        req.headers['content-type'],
        this.logsRequestType,
      );
      this.logs.push(this.logsService['Export']!.requestDeserialize(bytes) as ExportLogsRequest);
      // An empty ExportLogsServiceResponse.
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
      return;
    }
    if (req.method !== 'POST' || req.url !== this.path) {
      res.writeHead(404).end();
      return;
    }
    const body = uncompressed(wire, req.headers['content-encoding']);
    const metadata = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const entry: HttpReceived = {
      at: Date.now(),
      request: this.decode(body, req.headers['content-type']),
      metadata,
      headers: req.headers,
      bytes: wire.length,
      answer: 'OK',
    };
    this.received.push(entry);
    const b = this.behaviour;
    if (b.kind === 'status') {
      if (b.times !== undefined && b.times <= 0) this.behaviour = { kind: 'ok' };
      else {
        if (b.times !== undefined) b.times--;
        entry.answer = `HTTP ${b.status}`;
        res.writeHead(b.status, b.retryAfter ? { 'Retry-After': b.retryAfter } : {}).end();
        return;
      }
    }
    // An empty ExportMetricsServiceResponse.
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
  }
}

const LOGS_REQUEST_TYPE = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest';

function loadRequestType(proto = SERVICE_PROTO, name = REQUEST_TYPE): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_ROOT, target);
  root.loadSync(proto);
  return root.lookupType(name);
}

/** A body as sent, uncompressed by its Content-Encoding. */
function uncompressed(wire: Buffer, encoding: string | undefined): Buffer {
  if (encoding === 'gzip') return zlib.gunzipSync(wire);
  if (encoding === 'deflate') return zlib.inflateSync(wire);
  if (encoding === 'zstd') return zlib.zstdDecompressSync(wire);
  return wire;
}

/** A request body as protobuf bytes: OTLP JSON is read with `type` and encoded again. */
function protobufOf(body: Buffer, contentType: string | undefined, type: protobuf.Type): Buffer {
  if (!contentType?.startsWith('application/json')) return body;
  return Buffer.from(type.encode(type.fromObject(JSON.parse(body.toString('utf8')))).finish());
}
