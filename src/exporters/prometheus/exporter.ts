/** Serves the latest metrics it was given at GET /metrics. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Component, CreateSettings, MetricsConsumer, ResourceMetrics } from '../../service/component.js';
import { Accumulator } from './accumulator.js';
import type { PrometheusConfig } from './config.js';
import { RETINA_NAMES, RETINA_POINT_LABELS, retinaPodLabels, retinaRemoteLabels } from './retina.js';
import { type LabelCache, serialize, type SerializeOptions } from './serializer.js';

export { retinaPodLabels };

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class PrometheusExporter implements Component, MetricsConsumer {
  private server: http.Server | undefined;
  private starting: Promise<void> | undefined;
  private readonly accumulator: Accumulator;
  private readonly labelCache: LabelCache = new WeakMap();
  private readonly gaugeNames: ReadonlyMap<string, string> | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: PrometheusConfig,
  ) {
    this.accumulator = new Accumulator(config.metric_expiration);
    if (config.naming === 'retina') this.gaugeNames = RETINA_NAMES;
  }

  async consume(metrics: ResourceMetrics[]): Promise<void> {
    this.accumulator.add(metrics);
  }

  /** The bound address, once started (useful with port 0). */
  address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  start(): Promise<void> {
    this.starting ??= this.listen().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async listen(): Promise<void> {
    const { host, port } = this.config.endpoint;
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        reject(new Error(`cannot listen on ${host || '*'}:${port}: ${why} (${err.code ?? 'error'})`));
      });
      server.listen(port, host || undefined, () => resolve());
    });
    server.on('error', (err) => this.settings.logger.error('server error', { error: err.message }));
    this.server = server;
    const bound = (server.address() as AddressInfo).port;
    this.settings.logger.info('serving Prometheus metrics', { url: `http://${hostForUrl(host)}:${bound}/metrics` });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const body = serialize(this.accumulator.collect(), {
      namespace: this.config.namespace,
      gaugeNames: this.gaugeNames,
      constLabels: this.config.const_labels,
      labelCache: this.labelCache,
      ...this.retinaLabels(),
    });
    res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body);
  }

  /** Retina's context labels, local or remote, with naming retina. */
  private retinaLabels(): Pick<SerializeOptions, 'resourceLabels' | 'labels' | 'pointLabels'> {
    if (this.config.naming !== 'retina') return {};
    return this.config.retina_context === 'remote'
      ? { labels: retinaRemoteLabels, pointLabels: RETINA_POINT_LABELS }
      : { resourceLabels: retinaPodLabels, pointLabels: RETINA_POINT_LABELS };
  }

  async shutdown(): Promise<void> {
    await this.starting?.catch(() => {});
    const server = this.server;
    this.server = undefined;
    this.starting = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function hostForUrl(host: string): string {
  if (!host) return '0.0.0.0';
  return host.includes(':') ? `[${host}]` : host;
}
