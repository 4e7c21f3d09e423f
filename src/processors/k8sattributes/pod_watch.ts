/**
 * The pods (and the ReplicaSets and Jobs that name their workloads) that one set of
 * settings watches, shared by every k8sattributes processor with those settings. Each
 * pipeline has its own processor instances, so a processor used in two pipelines would
 * otherwise watch the API server twice and keep two caches of the same pods. Users are
 * counted: the watches stop when the last processor using them shuts down.
 */
import type { KubeConfig } from '@kubernetes/client-node';

import type { Logger } from '../../service/logger.js';
import type { OwnerLookup } from './attributes.js';
import { type ApiLists, apiLists, PATHS } from './kube.js';
import { PodCache } from './pod_cache.js';
import {
  type KeptKeys,
  type MetaRecord,
  type OwnedRecord,
  type PodRecord,
  toOwnedRecord,
  toPodRecord,
} from './records.js';
import { type Backoff, Watcher } from './watcher.js';

/** Everything that decides what a PodWatch holds; equal settings share one. */
export interface PodWatchSettings {
  /** How the API is reached: auth_type, kubeconfig file and context. */
  api: { auth_type: string; kube_config_path?: string | undefined; context?: string | undefined };
  /** The pod watch's field selector (`spec.nodeName=<node>`, filter.namespace, filter.fields); undefined for none. */
  fieldSelector: string | undefined;
  /** The pod watch's label selector (filter.labels); undefined for none. */
  labelSelector?: string | undefined;
  /** The labels and annotations the pod records keep. */
  keep: KeptKeys;
  replicaSets: boolean;
  jobs: boolean;
  /** How long a deleted pod still owns its address. */
  graceMs: number;
}

/** The outside world of a PodWatch; the first processor's is used. */
export interface PodWatchDependencies {
  kubeConfig: KubeConfig;
  logger: Logger;
  now: () => number;
  backoff?: Backoff | undefined;
}

/** How often deleted pods past their grace period are forgotten when no data flows. */
const SWEEP_INTERVAL_MS = 30_000;

/** How long pods wait for the first list of ReplicaSets and Jobs at most. */
const OWNERS_HEAD_START_MS = 2_000;

export type AnyWatcher = Watcher<PodRecord> | Watcher<OwnedRecord> | Watcher<MetaRecord>;

export class PodWatch {
  readonly cache: PodCache;
  readonly owners: OwnerLookup;
  private readonly pods: Watcher<PodRecord>;
  private readonly replicaSets: Watcher<OwnedRecord> | undefined;
  private readonly jobs: Watcher<OwnedRecord> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(
    private readonly settings: PodWatchSettings,
    private readonly deps: PodWatchDependencies,
  ) {
    const kc = deps.kubeConfig;
    const lists = apiLists(kc);
    const { fieldSelector, labelSelector, keep } = settings;
    this.cache = new PodCache(settings.graceMs, deps.now);
    const common = { logger: deps.logger, backoff: deps.backoff };
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
    this.pods = new Watcher<PodRecord>(kc, {
      ...common,
      resource: 'pods',
      path: PATHS.pods,
      fieldSelector,
      labelSelector,
      list: (page) => lists.pods({ fieldSelector, labelSelector }, page),
      toRecord: (raw) => toPodRecord(raw, keep),
      onAdd: (p) => this.cache.upsert(p),
      onUpdate: (p) => this.cache.upsert(p),
      onDelete: (p) => this.cache.delete(p),
    });
    this.replicaSets = settings.replicaSets ? owners('replicasets', PATHS.replicaSets, lists.replicaSets) : undefined;
    this.jobs = settings.jobs ? owners('jobs', PATHS.jobs, lists.jobs) : undefined;
    this.owners = {
      replicaSet: (ns, name) => this.replicaSets?.get(ns, name),
      job: (ns, name) => this.jobs?.get(ns, name),
    };
  }

  /** Events received from the owners' watches: it changes whenever an owner does. */
  get ownerChanges(): number {
    return (this.replicaSets?.changes ?? 0) + (this.jobs?.changes ?? 0);
  }

  /** Every watcher, pods first. */
  get watchers(): AnyWatcher[] {
    return [this.pods, this.replicaSets, this.jobs].filter((w): w is NonNullable<typeof w> => w !== undefined);
  }

  /** Starts the watches in the background, once. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.startPodsAfterOwners();
    const every = Math.min(SWEEP_INTERVAL_MS, Math.max(1_000, this.settings.graceMs));
    this.sweeper = setInterval(() => this.cache.sweep(), every);
    this.sweeper.unref();
    const ownerKinds = [this.replicaSets, this.jobs].flatMap((w) => (w ? [w.resource] : []));
    this.deps.logger.info('watching the Kubernetes API', {
      server: this.deps.kubeConfig.getCurrentCluster()?.server,
      pods: [this.settings.fieldSelector, this.settings.labelSelector].filter(Boolean).join(' ') || 'all',
      owners: ownerKinds.join(',') || 'none',
    });
  }

  /**
   * ReplicaSets and Jobs get a head start, so that the first pods are named with their
   * Deployments and CronJobs; the pods do not wait for owners whose list failed, nor
   * longer than OWNERS_HEAD_START_MS.
   */
  private startPodsAfterOwners(): void {
    const owners = [this.replicaSets, this.jobs].filter((w): w is Watcher<OwnedRecord> => w !== undefined);
    for (const w of owners) w.start();
    let timer: NodeJS.Timeout | undefined;
    const headStart = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, OWNERS_HEAD_START_MS);
      timer.unref();
    });
    void Promise.race([Promise.all(owners.map((w) => w.firstAttempt)), headStart]).then(() => {
      clearTimeout(timer);
      if (this.state === 'running') this.pods.start();
    });
  }

  /** Stops for good: a PodWatch is not started again. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.all(this.watchers.map((w) => w.stop()));
    this.cache.clear();
  }
}

/** Watches in use, by their settings, with the number of processors using each. */
export class SharedWatches<S, W extends { start(): void; stop(): Promise<void> }> {
  private readonly inUse = new Map<string, { watch: W; users: number }>();

  /**
   * The running watch for these settings: the one in use, or one made by `make` and
   * started. `make` is only called when none is in use, so its errors (an unreadable
   * kubeconfig) reach the processor that asked.
   */
  acquire(settings: S, make: () => W): { watch: W; shared: boolean } {
    const key = JSON.stringify(settings);
    const entry = this.inUse.get(key);
    if (entry) {
      entry.users++;
      return { watch: entry.watch, shared: true };
    }
    const watch = make();
    this.inUse.set(key, { watch, users: 1 });
    watch.start();
    return { watch, shared: false };
  }

  /** A processor is done with a watch; the last one stops it. */
  async release(watch: W): Promise<void> {
    for (const [key, entry] of this.inUse) {
      if (entry.watch !== watch) continue;
      if (--entry.users > 0) return;
      // Out of the map before stopping, so that a processor starting meanwhile makes a new one.
      this.inUse.delete(key);
      await watch.stop();
      return;
    }
  }

  /** Watches in use. */
  get size(): number {
    return this.inUse.size;
  }
}

/** The PodWatches in use. */
export class PodWatches extends SharedWatches<PodWatchSettings, PodWatch> {}

/** The PodWatches of this process, shared by every k8sattributes processor. */
export const podWatches = new PodWatches();
