/**
 * Adds each pod's identity to the pod-level data the receiver emits (one ResourceMetrics
 * per local address, named by the resource attribute k8s.pod.ip), from a cache of the
 * pods the Kubernetes API reports; processors with the same settings share one cache and
 * one watch (pod_watch.ts), such as the instances of one processor in several pipelines.
 * Node-level data (no k8s.pod.ip) passes unchanged, and
 * so does data of an address no pod owns. With auth_type none nothing is watched and all
 * data passes unchanged.
 */
import type { Attributes } from '@opentelemetry/api';
import type { MetricData, ScopeMetrics } from '@opentelemetry/sdk-metrics';

import type { Resource } from '@opentelemetry/resources';

import type {
  Component,
  Consumer,
  CreateSettings,
  LogsConsumer,
  MetricsConsumer,
  ResourceLogs,
  ResourceMetrics,
} from '../../service/component.js';
import { formatDuration } from '../../service/duration.js';
import { resourceFromAttributes } from '../../service/resource.js';
import { AttributeBuilder, noObjects, noOwners, type ObjectLookup, type OwnerLookup } from './attributes.js';
import { type K8sAttributesConfig, OTEL_ANNOTATION_PREFIX, POD_IP_ATTRIBUTE, watchSelectors } from './config.js';
import { type KubeConfigProvider, loadKubeConfig } from './kube.js';
import {
  exactKeys,
  keyPatterns,
  ObjectWatch,
  type ObjectWatches,
  objectWatches,
  objectWatchSettings,
  type Rules,
} from './object_watch.js';
import { type AnyWatcher, PodWatch, type PodWatches, podWatches, type PodWatchSettings } from './pod_watch.js';
import { canonicalAddress, type PodRecord } from './records.js';
import type { Backoff } from './watcher.js';

export const PEER_ADDRESS_ATTRIBUTE = 'peer.address';

/** The outside world, replaceable in tests. */
export interface Dependencies {
  kubeConfig: KubeConfigProvider;
  env: NodeJS.ProcessEnv;
  now: () => number;
  backoff?: Backoff;
  /** Where processors with the same settings find the watch they share. */
  watches: PodWatches;
  /** The same for the Namespace and Node watches. */
  objectWatches: ObjectWatches;
}

const defaults: Dependencies = {
  kubeConfig: loadKubeConfig,
  env: process.env,
  now: Date.now,
  watches: podWatches,
  objectWatches,
};

export class K8sAttributesProcessor implements Component, MetricsConsumer, LogsConsumer {
  private readonly deps: Dependencies;
  private readonly builder: AttributeBuilder;
  private readonly includeNamespaces: ReadonlySet<string>;
  private readonly excludeNamespaces: ReadonlySet<string>;
  /** exclude.pods: pods whose name has a match of one of these are left unnamed. */
  private readonly excluded: RegExp[];
  /** The shared watch this processor uses while it runs. */
  private watch: PodWatch | undefined;
  /** The shared Namespace and Node watches, when a configured key needs them. */
  private namespaces: ObjectWatch | undefined;
  private nodes: ObjectWatch | undefined;
  private objects: ObjectLookup = noObjects;
  private starting: Promise<void> | undefined;
  private toldNoApi = false;
  /**
   * The resource made for a pod's data, by the resource it was made from. The receiver
   * hands over the same resource for an address at every collection, and the exporters
   * key their caches on the resource they get: a new one per pod per collection would
   * cost a merge here and a key there every time. Made again when the pod's record
   * changes, or any owner, Namespace or Node does.
   */
  private readonly enriched = new WeakMap<Resource, { pod: PodRecord; metadata: number; resource: Resource }>();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: K8sAttributesConfig,
    private readonly next: Consumer,
    deps: Partial<Dependencies> = {},
  ) {
    this.deps = { ...defaults, ...deps };
    const { extract } = config;
    this.builder = new AttributeBuilder(
      extract.metadata,
      extract.labels,
      extract.annotations,
      extract.otel_annotations,
    );
    this.excluded = config.exclude.pods.map((p) => new RegExp(p.name));
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
    if (config.auth_type === 'none' || config.passthrough) {
      if (!this.toldNoApi) {
        this.toldNoApi = true;
        settings.logger.info(
          config.passthrough
            ? 'passthrough: the Kubernetes API is not read, data passes through unchanged'
            : 'no Kubernetes API is configured (auth_type: none): data passes through unchanged',
        );
      }
      return;
    }
    const node = this.nodeName();
    const { extract } = config;
    const fromPod = (rules: Rules) => rules.filter((r) => r.from === 'pod');
    const exact = (rules: Rules) => exactKeys(fromPod(rules));
    const patterns = (rules: Rules) => keyPatterns(fromPod(rules));
    const otel = extract.otel_annotations ? [`${OTEL_ANNOTATION_PREFIX.replaceAll('.', '\\.')}.+`] : [];
    // Peers may be on any node: then the pods of every node are watched.
    const { fieldSelector, labelSelector } = watchSelectors(config.filter, config.peer_enrichment ? undefined : node);
    const watchSettings: PodWatchSettings = {
      api: { auth_type: config.auth_type, kube_config_path: config.kube_config_path, context: config.context },
      fieldSelector,
      labelSelector,
      keep: {
        labels: exact(extract.labels),
        annotations: exact(extract.annotations),
        labelPatterns: patterns(extract.labels),
        annotationPatterns: [...patterns(extract.annotations), ...otel],
      },
      // The workload pair, always recorded, needs the owners of ReplicaSets and Jobs.
      replicaSets: true,
      jobs: true,
      graceMs: config.pod_delete_grace_period,
    };
    let kubeConfig: ReturnType<KubeConfigProvider> | undefined;
    const deps = () => ({
      kubeConfig: (kubeConfig ??= this.deps.kubeConfig(config)),
      logger: settings.logger,
      now: this.deps.now,
      backoff: this.deps.backoff,
    });
    // Namespaces and Nodes first, as the Collector starts them before the pods.
    const objects = objectWatchSettings(config, node);
    if (objects.namespaces) {
      const s = objects.namespaces;
      this.namespaces = this.deps.objectWatches.acquire(s, () => new ObjectWatch(s, deps())).watch;
    }
    if (objects.nodes) {
      const s = objects.nodes;
      this.nodes = this.deps.objectWatches.acquire(s, () => new ObjectWatch(s, deps())).watch;
    }
    const namespaces = this.namespaces;
    const nodes = this.nodes;
    this.objects = {
      namespace: namespaces ? (name) => namespaces.get(name) : () => undefined,
      node: nodes ? (name) => nodes.get(name) : () => undefined,
    };
    const { watch, shared } = this.deps.watches.acquire(watchSettings, () => new PodWatch(watchSettings, deps()));
    this.watch = watch;
    if (shared) settings.logger.debug('sharing the Kubernetes watch of another processor with the same settings');
    if (config.wait_for_metadata) await this.waitForMetadata(watch);
  }

  private nodeName(): string | undefined {
    const { node, node_from_env_var: variable } = this.config.filter;
    if (variable === undefined) return node;
    const value = this.deps.env[variable];
    if (!value) throw new Error(`filter.node_from_env_var: environment variable ${variable} is not set`);
    return value;
  }

  private async waitForMetadata(watch: PodWatch): Promise<void> {
    const watchers: AnyWatcher[] = [
      ...[this.namespaces, this.nodes].flatMap((w) => (w ? [w.watcher] : [])),
      ...watch.watchers,
    ];
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
    this.settings.logger.info('Kubernetes metadata synced', { pods: watch.cache.size });
  }

  /** Gives the shared watch back: the last processor using it stops it. */
  async shutdown(): Promise<void> {
    const watch = this.watch;
    const objects = [this.namespaces, this.nodes].filter((w): w is ObjectWatch => w !== undefined);
    this.watch = undefined;
    this.namespaces = undefined;
    this.nodes = undefined;
    this.objects = noObjects;
    await Promise.all([
      ...(watch ? [this.deps.watches.release(watch)] : []),
      ...objects.map((w) => this.deps.objectWatches.release(w)),
    ]);
    this.starting = undefined;
  }

  /** The pod that owns an address (IPv4 or IPv6, any spelling), if any; deleted pods in grace included. */
  podAt(address: string): PodRecord | undefined {
    // The receiver and the API both write IPv6 in canonical form; other spellings cost a parse.
    const cache = this.watch?.cache;
    const pod = cache?.get(address);
    if (!cache || pod || !address.includes(':')) return pod;
    return cache.get(canonicalAddress(address));
  }

  async consume(metrics: ResourceMetrics[]): Promise<void> {
    if (!this.watch) {
      await this.next.consume(metrics);
      return;
    }
    this.watch.cache.sweep();
    const out = this.enrich(metrics);
    if (out.length > 0 || metrics.length === 0) await this.next.consume(out);
  }

  /** Enriched copies of the data; data of pods in filtered-out namespaces is left out. */
  enrich(metrics: ResourceMetrics[]): ResourceMetrics[] {
    const owners = this.watch?.owners ?? noOwners;
    const out: ResourceMetrics[] = [];
    const peers = this.config.peer_enrichment ? new Map<string, Attributes | undefined>() : undefined;
    for (const rm of metrics) {
      const resource = this.podResource(rm.resource, owners);
      if (!resource) continue;
      const scopeMetrics = peers ? rm.scopeMetrics.map((sm) => this.withPeers(sm, peers, owners)) : rm.scopeMetrics;
      out.push({ resource, scopeMetrics });
    }
    return out;
  }

  /**
   * Logs (the receiver's samples of drops): each ResourceLogs named by its k8s.pod.ip as
   * metrics are; those of pods in filtered-out namespaces are left out.
   */
  async consumeLogs(logs: ResourceLogs[]): Promise<void> {
    const next = this.next.consumeLogs?.bind(this.next);
    if (!next) return;
    if (!this.watch) {
      await next(logs);
      return;
    }
    this.watch.cache.sweep();
    const owners = this.watch.owners ?? noOwners;
    const out: ResourceLogs[] = [];
    for (const rl of logs) {
      const resource = this.podResource(rl.resource, owners);
      if (resource) out.push({ ...rl, resource });
    }
    if (out.length > 0 || logs.length === 0) await next(out);
  }

  /** The resource with its pod's attributes; undefined when the pod's namespace is filtered out. */
  private podResource(resource: Resource, owners: OwnerLookup): Resource | undefined {
    const address = resource.attributes[POD_IP_ATTRIBUTE];
    if (typeof address !== 'string') return resource;
    const pod = this.named(address);
    if (!pod) return resource;
    if (!this.keeps(pod.metadata.namespace)) return undefined;
    const metadata = this.metadataChanges();
    const made = this.enriched.get(resource);
    if (made?.pod === pod && made.metadata === metadata) return made.resource;
    const enriched = resource.merge(resourceFromAttributes(this.builder.resource(pod, owners, this.objects)));
    this.enriched.set(resource, { pod, metadata, resource: enriched });
    return enriched;
  }

  /** Changes seen in what a pod's attributes read besides its own record. */
  private metadataChanges(): number {
    return (
      (this.watch?.ownerChanges ?? 0) + (this.namespaces?.watcher.changes ?? 0) + (this.nodes?.watcher.changes ?? 0)
    );
  }

  /** The pod at an address, unless exclude.pods leaves it unnamed. */
  private named(address: string): PodRecord | undefined {
    const pod = this.podAt(address);
    if (pod && this.excluded.some((re) => re.test(pod.metadata.name))) return undefined;
    return pod;
  }

  private keeps(namespace: string): boolean {
    if (this.includeNamespaces.size > 0 && !this.includeNamespaces.has(namespace)) return false;
    return !this.excludeNamespaces.has(namespace);
  }

  private withPeers(sm: ScopeMetrics, seen: Map<string, Attributes | undefined>, owners: OwnerLookup): ScopeMetrics {
    const metrics = sm.metrics.map((metric) => {
      let changed = false;
      const dataPoints = metric.dataPoints.map((dp) => {
        const address = dp.attributes[PEER_ADDRESS_ATTRIBUTE];
        if (typeof address !== 'string') return dp;
        let peer = seen.get(address);
        if (!seen.has(address)) {
          const pod = this.named(address);
          peer = pod ? this.builder.peer(pod, owners) : undefined;
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
