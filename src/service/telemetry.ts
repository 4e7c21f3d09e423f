/**
 * The agent's own metrics (service.telemetry.metrics), served on a Prometheus endpoint of
 * their own like the Collector's :8888: which hooks are attached, map reads, exports.
 * Components get a Meter of the agent's own (self_meter.ts), serialized by the Prometheus
 * exporter's serializer; with telemetry off it is the OpenTelemetry API's no-op meter.
 */
import type http from 'node:http';

import { createNoopMeter } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';

import { HttpServer } from '../confighttp/server.js';
import { serialize } from '../translator/prometheus/serializer.js';
import type { Logger } from './logger.js';
import type { Endpoint } from './schema.js';
import { AgentMeter, SCOPE_NAME, type TelemetryMeter } from './self_meter.js';

export interface TelemetryMetricsConfig {
  level: 'none' | 'basic' | 'normal' | 'detailed';
  address: Endpoint;
}

const METRICS_PATH = '/metrics';

/**
 * As the OpenTelemetry Prometheus exporter serves them: a target_info series of the
 * agent's resource, no resource attribute on the others, each labelled with its scope.
 */
const SERIALIZE_OPTIONS = {
  targetInfo: true,
  resourceLabels: () => ({}),
  constLabels: { otel_scope_name: SCOPE_NAME },
};

export class SelfTelemetry {
  private agentMeter: AgentMeter | undefined;
  private server: HttpServer | undefined;
  readonly meter: TelemetryMeter;

  constructor(
    private readonly config: TelemetryMetricsConfig,
    resource: Resource,
    private readonly logger: Logger,
  ) {
    if (config.level === 'none') {
      this.meter = createNoopMeter();
      return;
    }
    this.agentMeter = new AgentMeter(resource);
    this.meter = this.agentMeter;
  }

  async start(): Promise<void> {
    if (!this.agentMeter || this.server) return;
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
    if (pathname !== METRICS_PATH || !this.agentMeter) {
      res.writeHead(404).end();
      return;
    }
    this.agentMeter.collect().then(
      ({ resourceMetrics, errors }) => {
        for (const err of errors) this.logger.warn("collecting the agent's own metrics", { error: String(err) });
        res.writeHead(200, { 'content-type': 'text/plain' }).end(serialize([resourceMetrics], SERIALIZE_OPTIONS));
      },
      (err: unknown) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`# failed to export metrics: ${err}`),
    );
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.agentMeter = undefined;
    this.server = undefined;
    await server?.shutdown();
  }
}
