/**
 * Builds the components a config names and runs them: the extensions in service.extensions
 * first, then exporters, processors and receivers, so data never meets a consumer that is
 * not ready; shutdown goes in reverse. If anything fails to start, everything already started is shut down again.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Resource } from '@opentelemetry/resources';

import { VERSION } from '../version.js';
import type {
  Component,
  Consumer,
  Host,
  LogsConsumer,
  MetricsConsumer,
  ResourceLogs,
  ResourceMetrics,
} from './component.js';
import type { AgentConfig, ComponentConfig } from './config.js';
import type { Logger } from './logger.js';
import {
  AGENT_EXPORTER_QUEUE_DROPPED,
  AGENT_EXPORTER_QUEUE_DROPPED_LOG_RECORDS,
  AGENT_EXPORTER_SEND_FAILED,
  AGENT_EXPORTER_SEND_FAILED_LOG_RECORDS,
  AGENT_EXPORTER_SENT,
  AGENT_EXPORTER_SENT_LOG_RECORDS,
  metadata,
} from './metadata.generated.js';
import { instrumentOptions } from './metadata.js';
import { resourceFromAttributes } from './resource.js';
import { SelfTelemetry } from './telemetry.js';

/** How long one component may take to shut down (flush included) before it is left behind. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/** Sends the same data to several consumers. */
class FanOut implements MetricsConsumer {
  constructor(private readonly consumers: MetricsConsumer[]) {}
  async consume(metrics: ResourceMetrics[]): Promise<void> {
    await settleAll(this.consumers.map((c) => c.consume(metrics)));
  }
}

/** Sends the same logs to several consumers. */
class LogsFanOut implements LogsConsumer {
  constructor(private readonly consumers: LogsConsumer[]) {}
  async consumeLogs(logs: ResourceLogs[]): Promise<void> {
    await settleAll(this.consumers.map((c) => c.consumeLogs(logs)));
  }
}

async function settleAll(sends: Array<Promise<void>>): Promise<void> {
  const results = await Promise.allSettled(sends);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Metrics that go nowhere: the metrics side of a logs pipeline, and extensions' consumer. */
const dropMetrics = async (): Promise<void> => {};

/** A component in a logs pipeline that does not take logs: config validation prevents it. */
function logsOf(c: Partial<LogsConsumer>, id: string): LogsConsumer {
  const consumeLogs = c.consumeLogs?.bind(c);
  if (!consumeLogs) throw new Error(`${id} does not take logs`);
  return { consumeLogs };
}

/** Environment variables that may hold this node's Kubernetes name (downward API). */
export const NODE_NAME_VARIABLES = ['K8S_NODE_NAME', 'NODE_NAME'];

export function agentResource(env: NodeJS.ProcessEnv = process.env): Resource {
  const nodeName = NODE_NAME_VARIABLES.map((v) => env[v]).find(Boolean);
  return resourceFromAttributes({
    'service.name': 'dropreason',
    'service.version': VERSION,
    'service.instance.id': randomUUID(),
    'host.name': os.hostname(),
    'os.type': 'linux',
    ...(nodeName ? { 'k8s.node.name': nodeName } : {}),
  });
}

export class Service implements Host {
  private readonly started: Array<{ id: string; component: Component }> = [];
  private stopping: Promise<void> | undefined;
  /** Whether every pipeline has started and shutdown has not begun. */
  private state: 'starting' | 'running' | 'stopping' = 'starting';
  private readonly telemetry: SelfTelemetry;

  constructor(
    private readonly config: AgentConfig,
    private readonly logger: Logger,
    private readonly resource: Resource = agentResource(),
  ) {
    this.telemetry = new SelfTelemetry(config.telemetry.metrics, resource, logger);
  }

  async start(): Promise<void> {
    this.preflight();
    const plan = this.build();
    this.observeExporters(plan);
    try {
      await this.telemetry.start();
      this.started.push({ id: 'service.telemetry', component: this.telemetry });
      for (const { id, component } of plan) {
        this.logger.debug('starting', { component: id });
        try {
          await component.start();
        } catch (err) {
          throw new Error(`${id}: ${(err as Error).message}`, { cause: err });
        }
        this.started.push({ id, component });
      }
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    this.state = 'running';
    this.logger.info('everything is ready', {
      pipelines: this.config.pipelines.map((p) => p.id).join(','),
    });
  }

  /** For extensions: true when every pipeline runs and each component says it is healthy. */
  health(): true | string {
    if (this.state === 'starting') return 'the pipelines are starting';
    if (this.state === 'stopping') return 'shutting down';
    for (const { id, component } of this.started) {
      const h = component.healthy?.() ?? true;
      if (h !== true) return `${id}: ${h}`;
    }
    return true;
  }

  /** Runs every used component's preflight check, so a missing privilege starts nothing. */
  private preflight(): void {
    const used = new Map<string, ComponentConfig>();
    for (const id of this.config.serviceExtensions) used.set(`extensions.${id}`, this.config.extensions.get(id)!);
    for (const p of this.config.pipelines) {
      for (const id of p.receivers) used.set(`receivers.${id}`, this.config.receivers.get(id)!);
      for (const id of p.processors) used.set(`processors.${id}`, this.config.processors.get(id)!);
      for (const id of p.exporters) used.set(`exporters.${id}`, this.config.exporters.get(id)!);
    }
    for (const [id, c] of used) {
      try {
        c.factory.preflight?.(c.config);
      } catch (err) {
        throw new Error(`${id}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Creates each used component once, wired to its consumers, in start order. */
  private build(): Array<{ id: string; component: Component }> {
    const exporters = new Map<string, Component & Consumer>();
    const processors = new Map<string, Component & Consumer>();
    const receiverTargets = new Map<string, { metrics: MetricsConsumer[]; logs: LogsConsumer[] }>();
    const make = <T extends Component>(kind: string, c: ComponentConfig, next: Consumer) =>
      c.factory.create(
        {
          id: `${kind}.${c.id}`,
          logger: this.logger.child(`${kind}.${c.id}`),
          resource: this.resource,
          meter: this.telemetry.meter,
          host: this,
        },
        c.config,
        next,
      ) as T;

    const nothing: Consumer = { consume: dropMetrics };
    for (const p of this.config.pipelines) {
      const exps = p.exporters.map((id) => {
        let e = exporters.get(id);
        if (!e)
          exporters.set(id, (e = make<Component & Consumer>(`exporters`, this.config.exporters.get(id)!, nothing)));
        return e;
      });
      let next: Consumer;
      if (p.signal === 'logs') {
        const logs = exps.map((e, i) => logsOf(e, `exporters.${p.exporters[i]}`));
        next = { consume: dropMetrics, ...logsOf(logs.length === 1 ? logs[0]! : new LogsFanOut(logs), p.id) };
      } else {
        next = exps.length === 1 ? exps[0]! : new FanOut(exps);
      }
      // Processors belong to their pipeline: each pipeline gets its own instances.
      for (const id of [...p.processors].reverse()) {
        const proc = make<Component & Consumer>('processors', this.config.processors.get(id)!, next);
        processors.set(`${p.id}:${id}`, proc);
        next = p.signal === 'logs' ? { consume: dropMetrics, ...logsOf(proc, `processors.${id}`) } : proc;
      }
      for (const id of p.receivers) {
        const targets = receiverTargets.get(id) ?? { metrics: [], logs: [] };
        if (p.signal === 'logs') targets.logs.push(logsOf(next, p.id));
        else targets.metrics.push(next);
        receiverTargets.set(id, targets);
      }
    }
    const receivers = [...receiverTargets].map(([id, { metrics, logs }]) => {
      const toMetrics = metrics.length === 1 ? metrics[0]! : new FanOut(metrics);
      const next: Consumer = { consume: (m) => toMetrics.consume(m) };
      if (logs.length > 0) {
        // Only a receiver in a logs pipeline is given consumeLogs: the others need not make logs.
        const toLogs = logs.length === 1 ? logs[0]! : new LogsFanOut(logs);
        next.consumeLogs = (l) => toLogs.consumeLogs(l);
      }
      return { id: `receivers.${id}`, component: make('receivers', this.config.receivers.get(id)!, next) };
    });
    for (const [kind, map] of [
      ['receivers', this.config.receivers],
      ['exporters', this.config.exporters],
    ] as const) {
      for (const id of map.keys()) {
        const used = kind === 'receivers' ? receiverTargets.has(id) : exporters.has(id);
        if (!used) this.logger.info('not used by any pipeline, so not started', { component: `${kind}.${id}` });
      }
    }
    for (const id of this.config.extensions.keys()) {
      if (!this.config.serviceExtensions.includes(id))
        this.logger.info('not listed in service.extensions, so not started', { component: `extensions.${id}` });
    }
    const extensions = this.config.serviceExtensions.map((id) => ({
      id: `extensions.${id}`,
      component: make('extensions', this.config.extensions.get(id)!, nothing),
    }));
    return [
      ...extensions,
      ...[...exporters].map(([id, component]) => ({ id: `exporters.${id}`, component })),
      ...[...processors].map(([id, component]) => ({ id: `processors.${id}`, component })),
      ...receivers,
    ];
  }

  /**
   * Reports every exporter's stats() as the agent's own counters: data points, and the
   * log records of the exporters in a logs pipeline.
   */
  private observeExporters(plan: Array<{ id: string; component: Component }>): void {
    const withStats = plan.flatMap(({ id, component }) => {
      const stats = (component as Partial<MetricsConsumer>).stats;
      return stats ? [{ id: id.replace(/^exporters\./, ''), stats: stats.bind(component) }] : [];
    });
    if (withStats.length === 0) return;
    const takeLogs = new Set(this.config.pipelines.flatMap((p) => (p.signal === 'logs' ? p.exporters : [])));
    const meter = this.telemetry.meter;
    const counter = (name: keyof typeof metadata.telemetry.metrics) =>
      meter.createObservableCounter(name, instrumentOptions(metadata.telemetry.metrics[name]));
    const points = {
      sent: counter(AGENT_EXPORTER_SENT),
      failed: counter(AGENT_EXPORTER_SEND_FAILED),
      dropped: counter(AGENT_EXPORTER_QUEUE_DROPPED),
    };
    const records = {
      sent: counter(AGENT_EXPORTER_SENT_LOG_RECORDS),
      failed: counter(AGENT_EXPORTER_SEND_FAILED_LOG_RECORDS),
      dropped: counter(AGENT_EXPORTER_QUEUE_DROPPED_LOG_RECORDS),
    };
    meter.addBatchObservableCallback(
      (result) => {
        for (const { id, stats: read } of withStats) {
          const stats = read();
          const logRecords = takeLogs.has(id) ? stats.logRecords : undefined;
          for (const key of ['sent', 'failed', 'dropped'] as const) {
            result.observe(points[key], stats[key], { exporter: id });
            if (logRecords) result.observe(records[key], logRecords[key], { exporter: id });
          }
        }
      },
      [...Object.values(points), ...Object.values(records)],
    );
  }

  /** Stops receivers first (they push their last data), then processors, exporters, extensions. */
  shutdown(): Promise<void> {
    this.state = 'stopping';
    this.stopping ??= (async () => {
      for (const { id, component } of this.started.reverse()) {
        try {
          await withTimeout(component.shutdown(), SHUTDOWN_TIMEOUT_MS, `${id} did not shut down within 10s`);
        } catch (err) {
          this.logger.error('shutdown failed', { component: id, error: (err as Error).message });
        }
      }
      this.started.length = 0;
    })().finally(() => (this.stopping = undefined));
    return this.stopping;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
