/**
 * The agent's own metrics (service.telemetry.metrics), served on a Prometheus endpoint of
 * their own like the Collector's :8888: which hooks are attached, map reads, exports.
 * Components get a Meter; with telemetry off it is a no-op meter.
 */
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { createNoopMeter, type Meter } from '@opentelemetry/api';
import type { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

import { HttpServer } from '../confighttp/server.js';
import type { Logger } from './logger.js';
import type { Endpoint } from './schema.js';

export interface TelemetryMetricsConfig {
  level: 'none' | 'basic' | 'normal' | 'detailed';
  address: Endpoint;
}

const METRICS_PATH = '/metrics';

/** Collects on demand, when the endpoint is scraped; cumulative, as Prometheus wants. */
class ScrapeReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/**
 * The Prometheus exporter package's serializer, without the package's entry point: that
 * imports node:http as an ES module, and Node then loads everything http's lazy exports
 * reach (undici, http2, worker_threads: 9 MiB resident; docs/BENCHMARKS.md).
 */
async function loadSerializer(): Promise<PrometheusSerializer> {
  const entry = createRequire(import.meta.url).resolve('@opentelemetry/exporter-prometheus');
  const file = pathToFileURL(path.join(path.dirname(entry), 'PrometheusSerializer.mjs')).href;
  const { PrometheusSerializer: Serializer } = (await import(file)) as {
    PrometheusSerializer: new () => PrometheusSerializer;
  };
  return new Serializer();
}

export class SelfTelemetry {
  private provider: MeterProvider | undefined;
  private reader: ScrapeReader | undefined;
  private server: HttpServer | undefined;
  private serializer: PrometheusSerializer | undefined;
  readonly meter: Meter;

  constructor(
    private readonly config: TelemetryMetricsConfig,
    resource: Resource,
    private readonly logger: Logger,
  ) {
    if (config.level === 'none') {
      this.meter = createNoopMeter();
      return;
    }
    this.reader = new ScrapeReader();
    this.provider = new MeterProvider({ resource, readers: [this.reader] });
    this.meter = this.provider.getMeter('dropreason.agent');
  }

  async start(): Promise<void> {
    if (!this.reader || this.server) return;
    this.serializer ??= await loadSerializer();
    const server = new HttpServer(
      {
        endpoint: this.config.address,
        tls: undefined,
        path: METRICS_PATH,
        serving: "serving the agent's own metrics",
        ref: false,
      },
      (req, res) => this.handle(req, res),
      this.logger,
    );
    try {
      await server.start();
    } catch (err) {
      throw new Error(`service.telemetry.metrics: ${(err as Error).message}`, { cause: err });
    }
    this.server = server;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      res.writeHead(400).end('Bad Request');
      return;
    }
    if (pathname !== METRICS_PATH || !this.reader || !this.serializer) {
      res.writeHead(404).end();
      return;
    }
    const serializer = this.serializer;
    this.reader.collect().then(
      ({ resourceMetrics, errors }) => {
        for (const err of errors) this.logger.warn("collecting the agent's own metrics", { error: String(err) });
        res.writeHead(200, { 'content-type': 'text/plain' }).end(serializer.serialize(resourceMetrics));
      },
      (err: unknown) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`# failed to export metrics: ${err}`),
    );
  }

  async shutdown(): Promise<void> {
    const provider = this.provider;
    const server = this.server;
    this.provider = undefined;
    this.server = undefined;
    await server?.shutdown();
    await provider?.shutdown();
  }
}
