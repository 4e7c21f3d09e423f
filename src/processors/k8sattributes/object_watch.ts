/**
 * Namespaces or Nodes, watched only when a configured key reads them (extract rules with
 * from: namespace or node, k8s.node.uid, k8s.cluster.uid), shared by every processor with
 * the same settings and stopped when the last one shuts down, as pod watches are.
 */
import { CLUSTER_NAMESPACE } from './attributes.js';
import type { ExtractFrom, K8sAttributesConfig } from './config.js';
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

/**
 * What the Namespace and Node watches must hold, from the config; undefined for a watch
 * no configured key needs. As the Collector does: every Namespace when a rule reads from
 * namespace, else the kube-system Namespace alone for k8s.cluster.uid; the Nodes when a
 * rule reads from node or k8s.node.uid is listed, only this node when it is known.
 */
export function objectWatchSettings(
  config: K8sAttributesConfig,
  node: string | undefined,
): { namespaces: ObjectWatchSettings | undefined; nodes: ObjectWatchSettings | undefined } {
  const { extract } = config;
  const api = { auth_type: config.auth_type, kube_config_path: config.kube_config_path, context: config.context };
  const keep = (from: ExtractFrom) => {
    const labels = extract.labels.filter((r) => r.from === from);
    const annotations = extract.annotations.filter((r) => r.from === from);
    return {
      any: labels.length + annotations.length > 0,
      keep: {
        labels: exactKeys(labels),
        annotations: exactKeys(annotations),
        labelPatterns: keyPatterns(labels),
        annotationPatterns: keyPatterns(annotations),
      },
    };
  };
  const ns = keep('namespace');
  const nd = keep('node');
  let namespaces: ObjectWatchSettings | undefined;
  if (ns.any) namespaces = { api, resource: 'namespaces', fieldSelector: undefined, keep: ns.keep };
  else if (extract.metadata.includes('k8s.cluster.uid')) {
    namespaces = { api, resource: 'namespaces', fieldSelector: `metadata.name=${CLUSTER_NAMESPACE}`, keep: ns.keep };
  }
  const nodes: ObjectWatchSettings | undefined =
    nd.any || extract.metadata.includes('k8s.node.uid')
      ? {
          api,
          resource: 'nodes',
          fieldSelector: node !== undefined ? `metadata.name=${node}` : undefined,
          keep: nd.keep,
        }
      : undefined;
  return { namespaces, nodes };
}

export type Rules = K8sAttributesConfig['extract']['labels'];
export const exactKeys = (rules: Rules) => rules.flatMap((r) => (r.key !== undefined ? [r.key] : []));
export const keyPatterns = (rules: Rules) => rules.flatMap((r) => (r.key_regex !== undefined ? [r.key_regex] : []));

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
