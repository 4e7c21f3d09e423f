/**
 * The health_check extension: an HTTP endpoint for liveness and readiness probes. GET on
 * its path answers 200 while the service reports every pipeline started and healthy, and
 * 503 with the reason otherwise, with a JSON body like the Collector's.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

import { HttpServer } from '../../confighttp/server.js';
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
  private readonly server: HttpServer;
  private upSince = new Date();

  constructor(
    settings: CreateSettings,
    private readonly config: HealthCheckConfig,
    private readonly host: Host,
  ) {
    this.server = new HttpServer(
      { endpoint: config.endpoint, tls: config.tls, path: config.path, serving: 'serving health checks', ref: false },
      (req, res) => this.handle(req, res),
      settings.logger,
    );
  }

  /** The bound address, once started (useful with port 0). */
  address(): AddressInfo | undefined {
    return this.server.address();
  }

  async start(): Promise<void> {
    const fresh = this.server.address() === undefined;
    await this.server.start();
    if (fresh) this.upSince = new Date();
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

  shutdown(): Promise<void> {
    return this.server.shutdown();
  }
}
