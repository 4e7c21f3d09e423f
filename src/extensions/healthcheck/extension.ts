/**
 * The health_check extension: an HTTP endpoint for liveness and readiness probes. GET on
 * its path answers 200 while the service reports every pipeline started and healthy, and
 * 503 with the reason otherwise, with a JSON body like the Collector's.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

import { serverTlsOptions } from '../../exporters/prometheus/tls.js';
import type { Component, CreateSettings, Host } from '../../service/component.js';
import type { HealthCheckConfig } from './config.js';

/** The JSON status, as the Collector's health_check extension writes it (with a reason when unavailable). */
export function statusBody(health: true | string, upSince: Date, now: Date): string {
  const up = { upSince: upSince.toISOString(), uptime: `${((now.getTime() - upSince.getTime()) / 1000).toFixed(3)}s` };
  return JSON.stringify(
    health === true ? { status: 'Server available', ...up } : { status: 'Server not available', reason: health, ...up },
  );
}

export class HealthCheckExtension implements Component {
  private server: http.Server | undefined;
  private starting: Promise<void> | undefined;
  private upSince = new Date();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: HealthCheckConfig,
    private readonly host: Host,
  ) {}

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
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    const tls = this.config.tls;
    const server = tls ? https.createServer(serverTlsOptions(tls), handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        reject(new Error(`cannot listen on ${host || '*'}:${port}: ${why} (${err.code ?? 'error'})`));
      });
      server.listen(port, host || undefined, () => resolve());
    });
    server.on('error', (err) => this.settings.logger.error('server error', { error: err.message }));
    server.unref();
    this.server = server;
    this.upSince = new Date();
    const bound = (server.address() as AddressInfo).port;
    this.settings.logger.info('serving health checks', {
      url: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host || '0.0.0.0'}:${bound}${this.config.path}`,
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== this.config.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: health is at ${this.config.path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const health = this.host.health();
    const custom = health === true ? this.config.response_body?.healthy : this.config.response_body?.unhealthy;
    const body = custom ?? statusBody(health, this.upSince, new Date());
    res
      .writeHead(health === true ? 200 : 503, {
        'content-type': custom === undefined ? 'application/json' : 'text/plain',
      })
      .end(body);
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
