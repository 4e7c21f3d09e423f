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

import { type ExtractFrom, type ExtractRule, type MetadataName, OTEL_ANNOTATION_PREFIX } from './config.js';
import { type MetaRecord, type Owner, type OwnedRecord, type PodRecord, wholeKey } from './records.js';

/** The controller at the top of a pod's owner chain: always on a known pod's resource. */
export const WORKLOAD_KIND = 'k8s.workload.kind';
export const WORKLOAD_NAME = 'k8s.workload.name';

/** The ReplicaSets and Jobs known, by namespace and name. */
export interface OwnerLookup {
  replicaSet(namespace: string, name: string): OwnedRecord | undefined;
  job(namespace: string, name: string): OwnedRecord | undefined;
}

export const noOwners: OwnerLookup = { replicaSet: () => undefined, job: () => undefined };

/** The Namespaces and Nodes known, by name; the kube-system Namespace names the cluster. */
export interface ObjectLookup {
  namespace(name: string): MetaRecord | undefined;
  node(name: string): MetaRecord | undefined;
}

export const noObjects: ObjectLookup = { namespace: () => undefined, node: () => undefined };

/** The namespace whose uid is k8s.cluster.uid, as the Collector reads it. */
export const CLUSTER_NAMESPACE = 'kube-system';

export interface Workload {
  kind: string;
  name: string;
  deployment?: string;
  /** Known only when the ReplicaSet is: a Deployment named from a ReplicaSet's name has none. */
  deploymentUid?: string | undefined;
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
    return top.kind === 'Deployment'
      ? { kind: top.kind, name: top.name, deployment: top.name, deploymentUid: top.uid }
      : { kind: top.kind, name: top.name };
  }
  if (owner.kind === 'Job') {
    const top = owners.job(ns, owner.name)?.owner;
    if (!top) return { kind: 'Job', name: owner.name };
    return top.kind === 'CronJob'
      ? { kind: top.kind, name: top.name, cronJob: top.name }
      : { kind: top.kind, name: top.name };
  }
  return { kind: owner.kind, name: owner.name };
}

function deploymentFromName(replicaSet: string, hash: string | undefined): Owner | undefined {
  if (!hash || !replicaSet.endsWith(`-${hash}`) || replicaSet.length <= hash.length + 1) return undefined;
  return { kind: 'Deployment', name: replicaSet.slice(0, -hash.length - 1) };
}

/** One extraction rule, ready to apply: an exact key or a whole-key pattern, and the attribute name. */
interface Rule {
  key: string | undefined;
  pattern: RegExp | undefined;
  /** The attribute name; with a pattern, $1 / $<name> stand for its groups. */
  tag: string | undefined;
  prefix: string;
}

function rules(all: readonly ExtractRule[], from: ExtractFrom, what: 'labels' | 'annotations'): Rule[] {
  const prefix = `k8s.${from}.${what}.`;
  return all
    .filter((r) => r.from === from)
    .map((r) => ({
      key: r.key,
      pattern: r.key_regex !== undefined ? wholeKey(r.key_regex) : undefined,
      tag: r.tag_name,
      prefix,
    }));
}

function apply(rules: readonly Rule[], values: Record<string, string> | undefined, out: Attributes): void {
  if (!values) return;
  for (const r of rules) {
    if (r.key !== undefined) {
      const v = values[r.key];
      if (v !== undefined) out[r.tag ?? r.prefix + r.key] = v;
      continue;
    }
    for (const [k, v] of Object.entries(values)) {
      if (r.pattern!.test(k)) out[r.tag !== undefined ? k.replace(r.pattern!, r.tag) : r.prefix + k] = v;
    }
  }
}

interface Rules {
  labels: Rule[];
  annotations: Rule[];
}

/** Builds the attributes the config asks for; one per processor, reused for every pod. */
export class AttributeBuilder {
  private readonly metadata: ReadonlySet<MetadataName>;
  private readonly pod: Rules;
  private readonly namespace: Rules;
  private readonly node: Rules;
  private readonly otelAnnotations: boolean;

  constructor(
    metadata: readonly MetadataName[],
    labels: readonly ExtractRule[],
    annotations: readonly ExtractRule[],
    otelAnnotations = false,
  ) {
    this.metadata = new Set(metadata);
    const by = (from: ExtractFrom): Rules => ({
      labels: rules(labels, from, 'labels'),
      annotations: rules(annotations, from, 'annotations'),
    });
    this.pod = by('pod');
    this.namespace = by('namespace');
    this.node = by('node');
    this.otelAnnotations = otelAnnotations;
  }

  /** The resource attributes of a pod's data. */
  resource(pod: PodRecord, owners: OwnerLookup, objects: ObjectLookup = noObjects): Attributes {
    const m = this.metadata;
    const out: Attributes = {};
    const ownerKind = pod.owner?.kind;
    if (m.has('k8s.pod.name')) out['k8s.pod.name'] = pod.metadata.name;
    if (m.has('k8s.namespace.name')) out['k8s.namespace.name'] = pod.metadata.namespace;
    if (m.has('k8s.pod.uid')) out['k8s.pod.uid'] = pod.uid;
    if (m.has('k8s.pod.start_time') && pod.startTime) out['k8s.pod.start_time'] = pod.startTime;
    if (m.has('k8s.pod.ip') && pod.ips[0]) out['k8s.pod.ip'] = pod.ips[0];
    if (m.has('k8s.pod.hostname') && pod.hostname) out['k8s.pod.hostname'] = pod.hostname;
    if (m.has('k8s.node.name') && pod.node) out['k8s.node.name'] = pod.node;
    if (m.has('k8s.replicaset.name') && ownerKind === 'ReplicaSet') out['k8s.replicaset.name'] = pod.owner!.name;
    if (m.has('k8s.statefulset.name') && ownerKind === 'StatefulSet') out['k8s.statefulset.name'] = pod.owner!.name;
    if (m.has('k8s.daemonset.name') && ownerKind === 'DaemonSet') out['k8s.daemonset.name'] = pod.owner!.name;
    if (m.has('k8s.job.name') && ownerKind === 'Job') out['k8s.job.name'] = pod.owner!.name;
    const ownerUid = pod.owner?.uid;
    if (ownerUid) {
      if (m.has('k8s.replicaset.uid') && ownerKind === 'ReplicaSet') out['k8s.replicaset.uid'] = ownerUid;
      if (m.has('k8s.statefulset.uid') && ownerKind === 'StatefulSet') out['k8s.statefulset.uid'] = ownerUid;
      if (m.has('k8s.daemonset.uid') && ownerKind === 'DaemonSet') out['k8s.daemonset.uid'] = ownerUid;
      if (m.has('k8s.job.uid') && ownerKind === 'Job') out['k8s.job.uid'] = ownerUid;
    }
    const w = workloadOf(pod, owners);
    if (m.has('k8s.deployment.name') && w.deployment) out['k8s.deployment.name'] = w.deployment;
    if (m.has('k8s.deployment.uid') && w.deploymentUid) out['k8s.deployment.uid'] = w.deploymentUid;
    if (m.has('k8s.cronjob.name') && w.cronJob) out['k8s.cronjob.name'] = w.cronJob;
    // Always, whatever extract.metadata lists: Retina's workload_kind / workload_name (the
    // Prometheus exporter's naming: retina) are read from these, and no Collector key
    // names the top of the owner chain for every kind of owner.
    out[WORKLOAD_KIND] = w.kind;
    out[WORKLOAD_NAME] = w.name;
    const node = pod.node ? objects.node(pod.node) : undefined;
    if (m.has('k8s.node.uid') && node?.uid) out['k8s.node.uid'] = node.uid;
    const cluster = m.has('k8s.cluster.uid') ? objects.namespace(CLUSTER_NAMESPACE) : undefined;
    if (cluster?.uid) out['k8s.cluster.uid'] = cluster.uid;
    // Namespace, then node, then pod: a pod's own label wins a tag_name they share.
    const namespace = objects.namespace(pod.metadata.namespace);
    for (const [rules, object] of [
      [this.namespace, namespace],
      [this.node, node],
      [this.pod, pod],
    ] as const) {
      apply(rules.labels, object?.labels, out);
      apply(rules.annotations, object?.annotations, out);
    }
    if (this.otelAnnotations && pod.annotations) {
      for (const [k, v] of Object.entries(pod.annotations)) {
        if (k.startsWith(OTEL_ANNOTATION_PREFIX)) out[k.slice(OTEL_ANNOTATION_PREFIX.length)] = v;
      }
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
