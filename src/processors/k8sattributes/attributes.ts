/**
 * Turns a pod record into attributes: its own names, its workload (the controller at the
 * top of its owner chain) and the configured labels and annotations.
 *
 * Workload: a pod owned by a ReplicaSet belongs to that ReplicaSet's owner (a Deployment,
 * or whatever else owns it); a pod owned by a Job to the Job's owner (a CronJob); any other
 * owner (StatefulSet, DaemonSet, ...) is the workload itself; a pod without an owner is its
 * own workload (kind Pod). ReplicaSets and Jobs are watched; when a ReplicaSet is not known
 * (not listed yet, or already deleted) the Deployment is named from the ReplicaSet's name
 * minus the pod's `pod-template-hash` label, which is how Deployments name ReplicaSets. A
 * Job that is not known stays the workload: a Job's name does not say reliably whether a
 * CronJob made it.
 */
import type { Attributes } from '@opentelemetry/api';

import type { ExtractRule, MetadataName } from './config.js';
import type { Owner, OwnedRecord, PodRecord } from './records.js';

/** The controller at the top of a pod's owner chain: always on a known pod's resource. */
export const WORKLOAD_KIND = 'k8s.workload.kind';
export const WORKLOAD_NAME = 'k8s.workload.name';

/** The ReplicaSets and Jobs known, by namespace and name. */
export interface OwnerLookup {
  replicaSet(namespace: string, name: string): OwnedRecord | undefined;
  job(namespace: string, name: string): OwnedRecord | undefined;
}

export const noOwners: OwnerLookup = { replicaSet: () => undefined, job: () => undefined };

export interface Workload {
  kind: string;
  name: string;
  deployment?: string;
  cronJob?: string;
}

export function workloadOf(pod: PodRecord, owners: OwnerLookup): Workload {
  const owner = pod.owner;
  if (!owner) return { kind: 'Pod', name: pod.metadata.name };
  const ns = pod.metadata.namespace;
  if (owner.kind === 'ReplicaSet') {
    const rs = owners.replicaSet(ns, owner.name);
    const top: Owner | undefined = rs ? rs.owner : deploymentFromName(owner.name, pod.templateHash);
    if (!top) return { kind: 'ReplicaSet', name: owner.name };
    return top.kind === 'Deployment' ? { ...top, deployment: top.name } : { ...top };
  }
  if (owner.kind === 'Job') {
    const top = owners.job(ns, owner.name)?.owner;
    if (!top) return { kind: 'Job', name: owner.name };
    return top.kind === 'CronJob' ? { ...top, cronJob: top.name } : { ...top };
  }
  return { kind: owner.kind, name: owner.name };
}

function deploymentFromName(replicaSet: string, hash: string | undefined): Owner | undefined {
  if (!hash || !replicaSet.endsWith(`-${hash}`) || replicaSet.length <= hash.length + 1) return undefined;
  return { kind: 'Deployment', name: replicaSet.slice(0, -hash.length - 1) };
}

/** Builds the attributes the config asks for; one per processor, reused for every pod. */
export class AttributeBuilder {
  private readonly metadata: ReadonlySet<MetadataName>;
  private readonly labels: Array<[key: string, attribute: string]>;
  private readonly annotations: Array<[key: string, attribute: string]>;

  constructor(metadata: readonly MetadataName[], labels: readonly ExtractRule[], annotations: readonly ExtractRule[]) {
    this.metadata = new Set(metadata);
    this.labels = labels.map((r) => [r.key, r.tag_name ?? `k8s.pod.labels.${r.key}`]);
    this.annotations = annotations.map((r) => [r.key, r.tag_name ?? `k8s.pod.annotations.${r.key}`]);
  }

  /** The resource attributes of a pod's data. */
  resource(pod: PodRecord, owners: OwnerLookup): Attributes {
    const m = this.metadata;
    const out: Attributes = {};
    const ownerKind = pod.owner?.kind;
    if (m.has('k8s.pod.name')) out['k8s.pod.name'] = pod.metadata.name;
    if (m.has('k8s.namespace.name')) out['k8s.namespace.name'] = pod.metadata.namespace;
    if (m.has('k8s.pod.uid')) out['k8s.pod.uid'] = pod.uid;
    if (m.has('k8s.node.name') && pod.node) out['k8s.node.name'] = pod.node;
    if (m.has('k8s.replicaset.name') && ownerKind === 'ReplicaSet') out['k8s.replicaset.name'] = pod.owner!.name;
    if (m.has('k8s.statefulset.name') && ownerKind === 'StatefulSet') out['k8s.statefulset.name'] = pod.owner!.name;
    if (m.has('k8s.daemonset.name') && ownerKind === 'DaemonSet') out['k8s.daemonset.name'] = pod.owner!.name;
    if (m.has('k8s.job.name') && ownerKind === 'Job') out['k8s.job.name'] = pod.owner!.name;
    const w = workloadOf(pod, owners);
    if (m.has('k8s.deployment.name') && w.deployment) out['k8s.deployment.name'] = w.deployment;
    if (m.has('k8s.cronjob.name') && w.cronJob) out['k8s.cronjob.name'] = w.cronJob;
    // Always, whatever extract.metadata lists: Retina's workload_kind / workload_name (the
    // Prometheus exporter's naming: retina) are read from these, and no Collector key
    // names the top of the owner chain for every kind of owner.
    out[WORKLOAD_KIND] = w.kind;
    out[WORKLOAD_NAME] = w.name;
    for (const [key, attribute] of this.labels) {
      const v = pod.labels?.[key];
      if (v !== undefined) out[attribute] = v;
    }
    for (const [key, attribute] of this.annotations) {
      const v = pod.annotations?.[key];
      if (v !== undefined) out[attribute] = v;
    }
    return out;
  }

  /** The data point attributes naming the pod at the other end (peer.address). */
  peer(pod: PodRecord, owners: OwnerLookup): Attributes {
    const w = workloadOf(pod, owners);
    return {
      'peer.k8s.pod.name': pod.metadata.name,
      'peer.k8s.namespace.name': pod.metadata.namespace,
      'peer.k8s.workload.kind': w.kind,
      'peer.k8s.workload.name': w.name,
    };
  }
}
