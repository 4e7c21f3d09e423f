/**
 * The agent's own metrics (service.telemetry.metrics), served on a Prometheus endpoint of
 * their own like the Collector's :8888: which hooks are attached, map reads, exports.
 * Components get a Meter; with telemetry off it is a no-op meter.
 */
import { createNoopMeter, type Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

import type { Logger } from './logger.js';
import type { Endpoint } from './schema.js';

export interface TelemetryMetricsConfig {
  level: 'none' | 'basic' | 'normal' | 'detailed';
  address: Endpoint;
}

export class SelfTelemetry {
  private provider: MeterProvider | undefined;
  private exporter: PrometheusExporter | undefined;
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
    const { host, port } = config.address;
    this.exporter = new PrometheusExporter({ host: host || undefined, port, preventServerStart: true });
    this.provider = new MeterProvider({ resource, readers: [this.exporter] });
    this.meter = this.provider.getMeter('dropreason.agent');
  }

  async start(): Promise<void> {
    if (!this.exporter) return;
    const { host, port } = this.config.address;
    try {
      await this.exporter.startServer();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.message;
      throw new Error(
        `service.telemetry.metrics: cannot listen on ${host || '*'}:${port}: ${why} (${e.code ?? 'error'})`,
        {
          cause: err,
        },
      );
    }
    this.logger.info("serving the agent's own metrics", { url: `http://${host || '0.0.0.0'}:${port}/metrics` });
  }

  async shutdown(): Promise<void> {
    const provider = this.provider;
    this.provider = undefined;
    await provider?.shutdown();
  }
}
