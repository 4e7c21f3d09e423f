/**
 * An HTTP or HTTPS server on a configured endpoint, for the components that serve (the
 * Prometheus exporter, the health_check extension): started once however often start() is
 * called, a listen error said plainly, and stopped with its open connections.
 */
import type http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

import type { Logger } from '../service/logger.js';
import { serverTlsOptions, type TlsConfig } from './tls.js';

// Required, not imported: an ES module import of node:http makes Node load everything its
// lazy exports reach (undici, http2, worker_threads), 9 MiB resident (docs/BENCHMARKS.md).
const require = createRequire(import.meta.url);
const { createServer: createHttpServer } = require('node:http') as typeof http;
const { createServer: createHttpsServer } = require('node:https') as typeof https;

export interface ServerSettings {
  endpoint: { host: string; port: number };
  tls: TlsConfig | undefined;
  /** The path served, for the log line that says where. */
  path: string;
  /** The log line, e.g. "serving Prometheus metrics". */
  serving: string;
  /** Keep the process alive while listening (false: the server alone does not). */
  ref: boolean;
}

export class HttpServer {
  private server: http.Server | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly settings: ServerSettings,
    private readonly handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
    private readonly logger: Logger,
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
    const { endpoint, tls } = this.settings;
    const { host, port } = endpoint;
    const server = tls ? createHttpsServer(serverTlsOptions(tls), this.handler) : createHttpServer(this.handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        reject(new Error(`cannot listen on ${host || '*'}:${port}: ${why} (${err.code ?? 'error'})`));
      });
      server.listen(port, host || undefined, () => resolve());
    });
    server.on('error', (err) => this.logger.error('server error', { error: err.message }));
    if (!this.settings.ref) server.unref();
    this.server = server;
    const bound = (server.address() as AddressInfo).port;
    const shown = !host ? '0.0.0.0' : host.includes(':') ? `[${host}]` : host;
    this.logger.info(this.settings.serving, {
      url: `${tls ? 'https' : 'http'}://${shown}:${bound}${this.settings.path}`,
    });
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
