/**
 * Adds each pod's identity to the pod-level data the receiver emits (one ResourceMetrics
 * per local address, named by the resource attribute k8s.pod.ip), from a cache of the
 * pods the Kubernetes API reports. Node-level data (no k8s.pod.ip) passes unchanged, and
 * so does data of an address no pod owns. With auth_type none nothing is watched and all
 * data passes unchanged.
 */
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { MetricData, ScopeMetrics } from '@opentelemetry/sdk-metrics';

import type { Component, CreateSettings, MetricsConsumer, ResourceMetrics } from '../../service/component.js';
import { formatDuration } from '../../service/duration.js';
import { AttributeBuilder, type OwnerLookup } from './attributes.js';
import { type K8sAttributesConfig, POD_IP_ATTRIBUTE } from './config.js';
import { type ApiLists, apiLists, type KubeConfigProvider, loadKubeConfig, PATHS } from './kube.js';
import { PodCache } from './pod_cache.js';
import { canonicalAddress, type OwnedRecord, type PodRecord, toOwnedRecord, toPodRecord } from './records.js';
import { type Backoff, Watcher } from './watcher.js';

export const PEER_ADDRESS_ATTRIBUTE = 'peer.address';

/** The outside world, replaceable in tests. */
export interface Dependencies {
  kubeConfig: KubeConfigProvider;
  env: NodeJS.ProcessEnv;
  now: () => number;
  backoff?: Backoff;
}

const defaults: Dependencies = { kubeConfig: loadKubeConfig, env: process.env, now: Date.now };

interface Watchers {
  pods: Watcher<PodRecord>;
  replicaSets: Watcher<OwnedRecord> | undefined;
  jobs: Watcher<OwnedRecord> | undefined;
}
type AnyWatcher = Watcher<PodRecord> | Watcher<OwnedRecord>;

function all(w: Watchers): AnyWatcher[] {
  return [w.pods, w.replicaSets, w.jobs].filter((x): x is NonNullable<typeof x> => x !== undefined);
}

/** How often deleted pods past their grace period are forgotten when no data flows. */
const SWEEP_INTERVAL_MS = 30_000;

/** How long pods wait for the first list of ReplicaSets and Jobs at most. */
const OWNERS_HEAD_START_MS = 2_000;

export class K8sAttributesProcessor implements Component, MetricsConsumer {
  private readonly deps: Dependencies;
  private readonly builder: AttributeBuilder;
  private readonly cache: PodCache;
  private readonly owners: OwnerLookup;
  private readonly includeNamespaces: ReadonlySet<string>;
  private readonly excludeNamespaces: ReadonlySet<string>;
  private watchers: Watchers | undefined;
  private running = false;
  private starting: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private toldNoApi = false;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: K8sAttributesConfig,
    private readonly next: MetricsConsumer,
    deps: Partial<Dependencies> = {},
  ) {
    this.deps = { ...defaults, ...deps };
    const { extract } = config;
    this.builder = new AttributeBuilder(extract.metadata, extract.labels, extract.annotations, config.peer_enrichment);
    this.cache = new PodCache(config.pod_delete_grace_period, this.deps.now);
    this.owners = {
      replicaSet: (ns, name) => this.watchers?.replicaSets?.get(ns, name),
      job: (ns, name) => this.watchers?.jobs?.get(ns, name),
    };
    this.includeNamespaces = new Set(config.include_namespaces);
    this.excludeNamespaces = new Set(config.exclude_namespaces);
  }

  start(): Promise<void> {
    this.starting ??= this.run().catch(async (err: unknown) => {
      await this.shutdown();
      throw err;
    });
    return this.starting;
  }

  private async run(): Promise<void> {
    const { config, settings } = this;
    if (config.auth_type === 'none') {
      if (!this.toldNoApi) {
        this.toldNoApi = true;
        settings.logger.info('no Kubernetes API is configured (auth_type: none): data passes through unchanged');
      }
      return;
    }
    const kc = this.deps.kubeConfig(config);
    const lists = apiLists(kc);
    const node = this.nodeName();
    // Peers may be anywhere in the cluster: then every pod is watched.
    const fieldSelector = node !== undefined && !config.peer_enrichment ? `spec.nodeName=${node}` : undefined;
    const keep = {
      labels: config.extract.labels.map((r) => r.key),
      annotations: config.extract.annotations.map((r) => r.key),
    };
    const common = { logger: settings.logger, backoff: this.deps.backoff };
    const ignore = () => {};
    // ReplicaSets and Jobs are only read through ListWatch's own store (Watcher.get).
    const owners = (resource: string, path: string, list: ApiLists['jobs']) =>
      new Watcher<OwnedRecord>(kc, {
        ...common,
        resource,
        path,
        list,
        toRecord: toOwnedRecord,
        onAdd: ignore,
        onUpdate: ignore,
        onDelete: ignore,
      });
    const watchers: Watchers = {
      pods: new Watcher<PodRecord>(kc, {
        ...common,
        resource: 'pods',
        path: PATHS.pods,
        fieldSelector,
        list: (page) => lists.pods({ fieldSelector }, page),
        toRecord: (raw) => toPodRecord(raw, keep),
        onAdd: (p) => this.cache.upsert(p),
        onUpdate: (p) => this.cache.upsert(p),
        onDelete: (p) => this.cache.delete(p),
      }),
      replicaSets: this.builder.needsReplicaSets
        ? owners('replicasets', PATHS.replicaSets, lists.replicaSets)
        : undefined,
      jobs: this.builder.needsJobs ? owners('jobs', PATHS.jobs, lists.jobs) : undefined,
    };
    this.watchers = watchers;
    this.running = true;
    this.startPodsAfterOwners(watchers);
    const every = Math.min(SWEEP_INTERVAL_MS, Math.max(1_000, config.pod_delete_grace_period));
    this.sweeper = setInterval(() => this.cache.sweep(), every);
    this.sweeper.unref();
    const ownerKinds = [watchers.replicaSets, watchers.jobs].flatMap((w) => (w ? [w.resource] : []));
    settings.logger.info('watching the Kubernetes API', {
      server: kc.getCurrentCluster()?.server,
      pods: fieldSelector ?? 'all',
      owners: ownerKinds.join(',') || 'none',
    });
    if (config.wait_for_metadata) await this.waitForMetadata(all(watchers));
  }

  /**
   * ReplicaSets and Jobs get a head start, so that the first pods are named with their
   * Deployments and CronJobs; the pods do not wait for owners whose list failed, nor
   * longer than OWNERS_HEAD_START_MS.
   */
  private startPodsAfterOwners(current: Watchers): void {
    const { pods, replicaSets, jobs } = current;
    const owners = [replicaSets, jobs].filter((w): w is Watcher<OwnedRecord> => w !== undefined);
    for (const w of owners) w.start();
    let timer: NodeJS.Timeout | undefined;
    const headStart = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, OWNERS_HEAD_START_MS);
      timer.unref();
    });
    void Promise.race([Promise.all(owners.map((w) => w.firstAttempt)), headStart]).then(() => {
      clearTimeout(timer);
      if (this.running && this.watchers === current) pods.start();
    });
  }

  private nodeName(): string | undefined {
    const { node, node_from_env_var: variable } = this.config.filter;
    if (variable === undefined) return node;
    const value = this.deps.env[variable];
    if (!value) throw new Error(`filter.node_from_env_var: environment variable ${variable} is not set`);
    return value;
  }

  private async waitForMetadata(watchers: AnyWatcher[]): Promise<void> {
    const timeoutMs = this.config.wait_for_metadata_timeout;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref();
    });
    const result = await Promise.race([Promise.all(watchers.map((w) => w.synced)), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      const pending = watchers.filter((w) => !w.isSynced);
      const why = pending.map((w) => `${w.resource}${w.lastError ? ` (${w.lastError})` : ''}`).join(', ');
      throw new Error(`Kubernetes metadata did not sync within ${formatDuration(timeoutMs)}: no list of ${why}`);
    }
    this.settings.logger.info('Kubernetes metadata synced', { pods: this.cache.size });
  }

  async shutdown(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const watchers = this.watchers;
    this.running = false;
    this.watchers = undefined;
    if (watchers) {
      await Promise.all(all(watchers).map((w) => w.stop()));
      this.cache.clear();
    }
    this.starting = undefined;
  }

  /** The pod that owns an address (IPv4 or IPv6, any spelling), if any; deleted pods in grace included. */
  podAt(address: string): PodRecord | undefined {
    // The receiver and the API both write IPv6 in canonical form; other spellings cost a parse.
    const pod = this.cache.get(address);
    if (pod || !address.includes(':')) return pod;
    return this.cache.get(canonicalAddress(address));
  }

  async consume(metrics: ResourceMetrics[]): Promise<void> {
    if (!this.running) {
      await this.next.consume(metrics);
      return;
    }
    this.cache.sweep();
    const out = this.enrich(metrics);
    if (out.length > 0 || metrics.length === 0) await this.next.consume(out);
  }

  /** Enriched copies of the data; data of pods in filtered-out namespaces is left out. */
  enrich(metrics: ResourceMetrics[]): ResourceMetrics[] {
    const out: ResourceMetrics[] = [];
    const peers = this.config.peer_enrichment ? new Map<string, Attributes | undefined>() : undefined;
    for (const rm of metrics) {
      const address = rm.resource.attributes[POD_IP_ATTRIBUTE];
      let resource = rm.resource;
      if (typeof address === 'string') {
        const pod = this.podAt(address);
        if (pod) {
          if (!this.keeps(pod.metadata.namespace)) continue;
          resource = rm.resource.merge(resourceFromAttributes(this.builder.resource(pod, this.owners)));
        }
      }
      const scopeMetrics = peers ? rm.scopeMetrics.map((sm) => this.withPeers(sm, peers)) : rm.scopeMetrics;
      out.push({ resource, scopeMetrics });
    }
    return out;
  }

  private keeps(namespace: string): boolean {
    if (this.includeNamespaces.size > 0 && !this.includeNamespaces.has(namespace)) return false;
    return !this.excludeNamespaces.has(namespace);
  }

  private withPeers(sm: ScopeMetrics, seen: Map<string, Attributes | undefined>): ScopeMetrics {
    const metrics = sm.metrics.map((metric) => {
      let changed = false;
      const dataPoints = metric.dataPoints.map((dp) => {
        const address = dp.attributes[PEER_ADDRESS_ATTRIBUTE];
        if (typeof address !== 'string') return dp;
        let peer = seen.get(address);
        if (!seen.has(address)) {
          const pod = this.podAt(address);
          peer = pod ? this.builder.peer(pod, this.owners) : undefined;
          seen.set(address, peer);
        }
        if (!peer) return dp;
        changed = true;
        return { ...dp, attributes: { ...dp.attributes, ...peer } };
      });
      return changed ? ({ ...metric, dataPoints } as MetricData) : metric;
    });
    return { ...sm, metrics };
  }
}
