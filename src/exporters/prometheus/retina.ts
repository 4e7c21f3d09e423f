/**
 * Retina's naming (naming: retina): its metric names, and its pod-level labels as its
 * dashboards query networkobservability_adv_drop_count and _adv_drop_bytes. Retina has two
 * contexts:
 *
 * - local: the pod on this node, unprefixed: ip, namespace, podname, workload_kind,
 *   workload_name.
 * - remote: both ends of the flow, as source_* and destination_* labels. The pod on this
 *   node is the destination of an ingress drop and the source of any other (the kernel
 *   side takes the local address from the packet's source then); the peer (peer.address
 *   and, with the k8sattributes processor's peer_enrichment, its pod) is the other end.
 *
 * An end with no known pod reads "unknown" in every label it lacks, as Retina writes an
 * end without an endpoint (its pod-level panels filter on podname!="unknown"); the ip of
 * such an end is still its address. Data without k8s.pod.ip (the node-level series) keeps
 * its own attributes only. The workload pair comes from the k8sattributes processor, which
 * records k8s.workload.kind / k8s.workload.name for every known pod whatever
 * extract.metadata lists.
 */
import type { Attributes } from '@opentelemetry/api';

import {
  DROP_BYTES,
  DROP_COUNT,
  POD_DROP_BYTES,
  POD_DROP_COUNT,
  SYSTEM_NETWORK_PACKET_DROPPED,
} from '../../receiver/dropreason/metadata.generated.js';
import { INTERFACE_NAME_ATTRIBUTE, STATISTIC_ATTRIBUTE } from '../../receiver/dropreason/interfaces.js';

/** Retina's metric names, by the OTel name they are served for with naming retina (gauges). */
export const RETINA_NAMES: ReadonlyMap<string, string> = new Map([
  [DROP_COUNT, 'networkobservability_drop_count'],
  [DROP_BYTES, 'networkobservability_drop_bytes'],
  [POD_DROP_COUNT, 'networkobservability_adv_drop_count'],
  [POD_DROP_BYTES, 'networkobservability_adv_drop_bytes'],
  [SYSTEM_NETWORK_PACKET_DROPPED, 'networkobservability_interface_stats'],
]);

/** The attributes that name one end of a flow: the resource's for the pod, the point's for the peer. */
const POD_KEYS = {
  ip: 'k8s.pod.ip',
  namespace: 'k8s.namespace.name',
  podname: 'k8s.pod.name',
  workload_kind: 'k8s.workload.kind',
  workload_name: 'k8s.workload.name',
} as const;
const PEER_KEYS = {
  ip: 'peer.address',
  namespace: 'peer.k8s.namespace.name',
  podname: 'peer.k8s.pod.name',
  workload_kind: 'peer.k8s.workload.kind',
  workload_name: 'peer.k8s.workload.name',
} as const;

/** What Retina writes for a label of an end it knows nothing about. */
export const RETINA_UNKNOWN = 'unknown';

/** Retina's context labels of one end, with a prefix: '' (local), 'source_' or 'destination_'. */
function end(from: Attributes, keys: Record<keyof typeof POD_KEYS, string>, prefix: string): Attributes {
  const out: Attributes = {};
  for (const [label, key] of Object.entries(keys)) {
    const value = from[key];
    out[prefix + label] = value === undefined || value === '' ? RETINA_UNKNOWN : value;
  }
  return out;
}

/** Local context: the pod's unprefixed labels (the serializer adds the point's attributes). */
export function retinaPodLabels(resource: Attributes): Attributes {
  if (resource[POD_KEYS.ip] === undefined) return {};
  return end(resource, POD_KEYS, '');
}

/** The pod-level metrics, whose ends Retina's remote context labels. */
const POD_METRICS: ReadonlySet<string> = new Set([POD_DROP_COUNT, POD_DROP_BYTES]);

/**
 * Remote context: the point's attributes, its peer ones replaced by the source_* and
 * destination_* labels. A pod-level series without a local address (a drop with no IP
 * header) has two unknown ends, as Retina labels an end it cannot name.
 */
export function retinaRemoteLabels(resource: Attributes, point: Attributes, metric: string): Attributes {
  if (resource[POD_KEYS.ip] === undefined && !POD_METRICS.has(metric)) return point;
  const pod = (prefix: string) => end(resource, POD_KEYS, prefix);
  const peer = (prefix: string) => end(point, PEER_KEYS, prefix);
  const ingress = point['direction'] === 'ingress';
  const out: Attributes = { ...point };
  for (const key of Object.values(PEER_KEYS)) delete out[key];
  return ingress
    ? { ...out, ...peer('source_'), ...pod('destination_') }
    : { ...out, ...pod('source_'), ...peer('destination_') };
}

/**
 * Interface drops as Retina's networkobservability_interface_stats labels them:
 * interface_name and statistic_name (the kernel's counter name, e.g. rx_dropped, as
 * Retina's dashboards query it). The direction is in the counter's name already.
 *
 * Retina's own reader sums over the node's interfaces and writes
 * interface_name="all_interfaces"; its dashboards only ever sum over interface_name, so one
 * series per interface answers them the same, and a vanished veth's counter leaves the sum
 * without looking like a counter reset to rate().
 */
export function retinaInterfaceLabels(point: Attributes): Attributes {
  return { interface_name: point[INTERFACE_NAME_ATTRIBUTE], statistic_name: point[STATISTIC_ATTRIBUTE] };
}

/** Data point label rewrites with naming retina, by OTel metric name. */
export const RETINA_POINT_LABELS: ReadonlyMap<string, (point: Attributes) => Attributes> = new Map([
  [SYSTEM_NETWORK_PACKET_DROPPED, retinaInterfaceLabels],
]);
