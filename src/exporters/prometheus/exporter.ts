/**
 * Serves the latest metrics it was given at GET /metrics: OpenMetrics text when enabled
 * and asked for, gzip when the scraper accepts it, over HTTPS with tls.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

import { HttpServer } from '../../confighttp/server.js';
import type { Component, CreateSettings, MetricsConsumer, ResourceMetrics } from '../../service/component.js';
import { Accumulator } from './accumulator.js';
import type { PrometheusConfig } from './config.js';
import { RETINA_NAMES, RETINA_POINT_LABELS, retinaPodLabels, retinaRemoteLabels } from './retina.js';
import {
  allResourceLabels,
  type LabelCache,
  serialize,
  type SerializeOptions,
} from '../../translator/prometheus/serializer.js';

const gzip = promisify(zlib.gzip);

export { retinaPodLabels };

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Whether an Accept header asks for OpenMetrics text (Prometheus sends it first, with a higher q). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return (
    /(^|,)\s*application\/openmetrics-text\s*(;|,|$)/.test(accept ?? '') &&
    !/application\/openmetrics-text[^,]*;\s*q=0(\.0*)?\s*(,|$)/.test(accept ?? '')
  );
}

/** Whether an Accept-Encoding header takes gzip. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return (acceptEncoding ?? '').split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find(Boolean);
    return coding!.trim().toLowerCase() === 'gzip' && (q === undefined || Number(q) > 0);
  });
}

export class PrometheusExporter implements Component, MetricsConsumer {
  private readonly server: HttpServer;
  private readonly accumulator: Accumulator;
  private readonly labelCache: LabelCache = new WeakMap();
  private readonly gaugeNames: ReadonlyMap<string, string> | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: PrometheusConfig,
  ) {
    this.accumulator = new Accumulator(config.metric_expiration);
    if (config.naming === 'retina') this.gaugeNames = RETINA_NAMES;
    this.server = new HttpServer(
      {
        endpoint: config.endpoint,
        tls: config.tls,
        path: '/metrics',
        serving: 'serving Prometheus metrics',
        ref: true,
      },
      (req, res) => void this.handle(req, res),
      settings.logger,
    );
  }

  async consume(metrics: ResourceMetrics[]): Promise<void> {
    this.accumulator.add(metrics);
  }

  /** The bound address, once started (useful with port 0). */
  address(): AddressInfo | undefined {
    return this.server.address();
  }

  start(): Promise<void> {
    return this.server.start();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const openMetrics = this.config.enable_open_metrics && wantsOpenMetrics(req.headers.accept);
    const body = serialize(this.accumulator.collect(), {
      namespace: this.config.namespace,
      gaugeNames: this.gaugeNames,
      constLabels: this.config.const_labels,
      labelCache: this.labelCache,
      format: openMetrics ? 'openmetrics' : 'prometheus',
      timestamps: this.config.send_timestamps,
      suffixes: this.config.add_metric_suffixes,
      ...this.resourceLabels(),
    });
    const headers: http.OutgoingHttpHeaders = {
      'content-type': openMetrics ? OPENMETRICS_CONTENT_TYPE : CONTENT_TYPE,
      vary: 'Accept, Accept-Encoding',
    };
    let payload: string | Buffer = body;
    if (acceptsGzip(req.headers['accept-encoding'])) {
      try {
        payload = await gzip(body);
        headers['content-encoding'] = 'gzip';
      } catch (err) {
        this.settings.logger.warn('gzip failed; serving uncompressed', { error: (err as Error).message });
      }
    }
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : payload);
  }

  /** Which resource attributes become labels: Retina's, every one (resource_to_telemetry_conversion), or a pod's k8s.*. */
  private resourceLabels(): Pick<SerializeOptions, 'resourceLabels' | 'labels'> {
    if (this.config.naming === 'retina') return this.retinaLabels();
    if (this.config.resource_to_telemetry_conversion.enabled) return { resourceLabels: allResourceLabels };
    return {};
  }

  /** Retina's context labels, local or remote, with naming retina. */
  private retinaLabels(): Pick<SerializeOptions, 'resourceLabels' | 'labels' | 'pointLabels'> {
    if (this.config.naming !== 'retina') return {};
    return this.config.retina_context === 'remote'
      ? { labels: retinaRemoteLabels, pointLabels: RETINA_POINT_LABELS }
      : { resourceLabels: retinaPodLabels, pointLabels: RETINA_POINT_LABELS };
  }

  shutdown(): Promise<void> {
    return this.server.shutdown();
  }
}
