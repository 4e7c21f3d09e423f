/**
 * `dropreason top` without --endpoint: the agent's own pipeline in this process, from a
 * config built here (the dropreason receiver at the refresh interval, the k8sattributes
 * processor with --kubeconfig), ending in an exporter that hands each push to the screen.
 * So the counts, reason names and privilege checks are exactly the agent's.
 */
import { stringify } from 'yaml';

import { k8sAttributesProcessorFactory } from '../processors/k8sattributes/factory.js';
import { dropReasonReceiverFactory } from '../receiver/dropreason/factory.js';
import type { Component, ExporterFactory, Factory, MetricsConsumer, ResourceMetrics } from '../service/component.js';
import { type AgentConfig, type Registry, parseConfig } from '../service/config.js';
import type { Logger } from '../service/logger.js';
import { object } from '../service/schema.js';
import { NODE_NAME_VARIABLES, Service } from '../service/service.js';
import type { TopOptions } from './options.js';
import { snapshotFromMetrics } from './snapshot.js';
import type { Refresh, Source } from './source.js';

/** An exporter that passes each push on as a snapshot. */
function topExporterFactory(onMetrics: (metrics: ResourceMetrics[]) => void): ExporterFactory<unknown> {
  return {
    type: 'top',
    kind: 'exporter',
    configSchema: object({}, { description: 'Shows the metrics in dropreason top.' }),
    create: (): Component & MetricsConsumer => ({
      start: async () => {},
      shutdown: async () => {},
      consume: async (metrics) => onMetrics(metrics),
    }),
  };
}

const erase = <C, T extends Component>(f: Factory<C, T>) => f as unknown as Factory<unknown, Component>;

/** The pipeline config for these options, in the Collector's format the agent reads. */
export function localConfig(opts: TopOptions, env: NodeJS.ProcessEnv = process.env): string {
  const receiver: Record<string, unknown> = {
    collection_interval: `${opts.intervalMs}ms`,
    mode: opts.advanced ? 'advanced' : 'basic',
  };
  if (opts.netns !== undefined) receiver['netns'] = opts.netns;
  const processors: Record<string, unknown> = {};
  if (opts.kubeconfig !== undefined) {
    const nodeVariable = NODE_NAME_VARIABLES.find((v) => env[v]);
    processors['k8sattributes'] = {
      auth_type: 'kubeConfig',
      kube_config_path: opts.kubeconfig,
      // Only this node's pods when the node is known; else every pod (one watch either way).
      ...(nodeVariable ? { filter: { node_from_env_var: nodeVariable } } : {}),
    };
  }
  return stringify({
    receivers: { dropreason: receiver },
    ...(Object.keys(processors).length ? { processors } : {}),
    exporters: { top: {} },
    service: {
      pipelines: {
        metrics: { receivers: ['dropreason'], processors: Object.keys(processors), exporters: ['top'] },
      },
      // Info lines would scroll the table away; warnings and errors still matter.
      telemetry: { logs: { level: 'warn' } },
    },
  });
}

/** The parsed pipeline: the components it names, with the view's exporter calling onMetrics. */
export function localAgentConfig(
  opts: TopOptions,
  onMetrics: (metrics: ResourceMetrics[]) => void,
  env: NodeJS.ProcessEnv = process.env,
): AgentConfig {
  const registry: Registry = {
    receiver: [erase(dropReasonReceiverFactory)],
    processor: [erase(k8sAttributesProcessorFactory)],
    exporter: [erase(topExporterFactory(onMetrics))],
    extension: [],
  };
  return parseConfig(localConfig(opts, env), registry, env);
}

export class LocalSource implements Source {
  readonly label: string;
  private service: Service | undefined;

  constructor(
    private readonly opts: TopOptions,
    private readonly logger: Logger,
  ) {
    this.label = opts.netns ? `drops in netns ${opts.netns}` : 'drops on this node';
  }

  /** Loads and attaches the counter; the first refresh comes before this returns. */
  async start(onRefresh: (r: Refresh) => void): Promise<void> {
    const config = localAgentConfig(this.opts, (m) => onRefresh({ snapshot: snapshotFromMetrics(m, Date.now()) }));
    this.service = new Service(config, this.logger);
    await this.service.start();
  }

  async stop(): Promise<void> {
    await this.service?.shutdown();
  }
}
