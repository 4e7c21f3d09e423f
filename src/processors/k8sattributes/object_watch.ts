/**
 * Namespaces or Nodes, watched only when a configured key reads them (extract rules with
 * from: namespace or node, k8s.node.uid, k8s.cluster.uid), shared by every processor with
 * the same settings and stopped when the last one shuts down, as pod watches are.
 */
import { apiLists, PATHS } from './kube.js';
import { type PodWatchDependencies, type PodWatchSettings, SharedWatches } from './pod_watch.js';
import { type KeptKeys, type MetaRecord, toMetaRecord } from './records.js';
import { Watcher } from './watcher.js';

/** Everything that decides what an ObjectWatch holds; equal settings share one. */
export interface ObjectWatchSettings {
  api: PodWatchSettings['api'];
  resource: 'namespaces' | 'nodes';
  /** `metadata.name=<name>` for one object (this node, or kube-system alone); undefined for all. */
  fieldSelector: string | undefined;
  /** The labels and annotations the records keep. */
  keep: KeptKeys;
}

export class ObjectWatch {
  readonly watcher: Watcher<MetaRecord>;

  constructor(
    readonly settings: ObjectWatchSettings,
    private readonly deps: PodWatchDependencies,
  ) {
    const kc = deps.kubeConfig;
    const lists = apiLists(kc);
    const { resource, fieldSelector, keep } = settings;
    const list = resource === 'namespaces' ? lists.namespaces : lists.nodes;
    const ignore = () => {};
    // Read only through ListWatch's own store (Watcher.get).
    this.watcher = new Watcher<MetaRecord>(kc, {
      resource,
      path: PATHS[resource],
      fieldSelector,
      list: (page) => list({ fieldSelector }, page),
      toRecord: (raw) => toMetaRecord(raw, keep),
      onAdd: ignore,
      onUpdate: ignore,
      onDelete: ignore,
      logger: deps.logger,
      backoff: deps.backoff,
    });
  }

  /** A Namespace or Node by name (they belong to no namespace). */
  get(name: string): MetaRecord | undefined {
    return this.watcher.get('', name);
  }

  start(): void {
    this.watcher.start();
    this.deps.logger.info('watching the Kubernetes API', {
      server: this.deps.kubeConfig.getCurrentCluster()?.server,
      [this.settings.resource]: this.settings.fieldSelector ?? 'all',
    });
  }

  stop(): Promise<void> {
    return this.watcher.stop();
  }
}

/** The Namespace and Node watches in use. */
export class ObjectWatches extends SharedWatches<ObjectWatchSettings, ObjectWatch> {}

/** The Namespace and Node watches of this process, shared by every k8sattributes processor. */
export const objectWatches = new ObjectWatches();
