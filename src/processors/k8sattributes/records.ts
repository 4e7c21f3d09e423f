/**
 * What the processor keeps of each Kubernetes object: a few strings, never the object the
 * API sent. Records keep `metadata.name`, `namespace` and `resourceVersion` because the
 * client's ListWatch files them by those; it holds these records, not the API's objects.
 */
import { isIPv6 } from 'node:net';

export interface Owner {
  kind: string;
  name: string;
  uid?: string | undefined;
}

/** The part of `metadata` that the client's ListWatch reads. */
export interface RecordMeta {
  name: string;
  namespace: string;
  resourceVersion: string;
}

export interface PodRecord {
  metadata: RecordMeta;
  uid: string;
  /** status.startTime, as the API writes it (RFC 3339); '' before the kubelet took the pod. */
  startTime: string;
  /** spec.hostname; '' when not set. */
  hostname: string;
  /** status.podIPs (else status.podIP), canonical; empty for hostNetwork pods and pods without one yet. */
  ips: string[];
  node: string;
  /** The controlling owner (ownerReferences with controller: true, else the first). */
  owner: Owner | undefined;
  /** The `pod-template-hash` label, to name a Deployment when its ReplicaSet is not known. */
  templateHash: string | undefined;
  /** Only the configured label and annotation keys (exact, or matching a configured pattern). */
  labels: Record<string, string> | undefined;
  annotations: Record<string, string> | undefined;
  hostNetwork: boolean;
  /** Succeeded or Failed: its address may already belong to another pod. */
  terminated: boolean;
  /** When the API reported it deleted (ms since the epoch); set by the cache. */
  deletedAt?: number;
}

/** A ReplicaSet or a Job: what owns it. */
export interface OwnedRecord {
  metadata: RecordMeta;
  owner: Owner | undefined;
}

/** Which labels and annotations to keep: exact keys, and patterns a whole key matches. */
export interface KeptKeys {
  labels: readonly string[];
  annotations: readonly string[];
  labelPatterns?: readonly string[];
  annotationPatterns?: readonly string[];
}

/** The fields read from an API object; both the watch's JSON and the list's typed objects fit. */
interface ApiObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind?: string; name?: string; uid?: string; controller?: boolean }>;
  };
  spec?: { nodeName?: string; hostNetwork?: boolean; hostname?: string };
  status?: { phase?: string; podIP?: string; podIPs?: Array<{ ip?: string }>; startTime?: string | Date };
}

/** IPv6 in its canonical (RFC 5952) form, so the receiver's and the API's spellings meet; IPv4 unchanged. */
export function canonicalAddress(address: string): string {
  if (!address.includes(':') || !isIPv6(address)) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

function meta(o: ApiObject): RecordMeta {
  return {
    name: o.metadata?.name ?? '',
    namespace: o.metadata?.namespace ?? '',
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

function controller(o: ApiObject): Owner | undefined {
  const refs = o.metadata?.ownerReferences;
  if (!refs?.length) return undefined;
  const ref = refs.find((r) => r.controller) ?? refs[0]!;
  return ref.kind && ref.name ? { kind: ref.kind, name: ref.name, uid: ref.uid } : undefined;
}

const anchored = new Map<string, RegExp>();
/** A pattern as the Collector reads a key_regex: the whole key must match. */
export function wholeKey(pattern: string): RegExp {
  let re = anchored.get(pattern);
  if (!re) anchored.set(pattern, (re = new RegExp(`^(?:${pattern})$`)));
  return re;
}

function pick(
  from: Record<string, string> | undefined,
  keys: readonly string[],
  patterns: readonly string[] = [],
): Record<string, string> | undefined {
  if (!from || (keys.length === 0 && patterns.length === 0)) return undefined;
  let out: Record<string, string> | undefined;
  for (const k of keys) {
    const v = from[k];
    if (v !== undefined) (out ??= {})[k] = v;
  }
  if (patterns.length > 0) {
    const res = patterns.map(wholeKey);
    for (const [k, v] of Object.entries(from)) if (res.some((re) => re.test(k))) (out ??= {})[k] = v;
  }
  return out;
}

export function toPodRecord(raw: unknown, keep: KeptKeys): PodRecord {
  const o = raw as ApiObject;
  const hostNetwork = o.spec?.hostNetwork === true;
  let ips: string[] = [];
  if (!hostNetwork) {
    const listed = (o.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
    if (listed.length === 0 && o.status?.podIP) listed.push(o.status.podIP);
    ips = [...new Set(listed.map(canonicalAddress))];
  }
  const phase = o.status?.phase;
  return {
    metadata: meta(o),
    uid: o.metadata?.uid ?? '',
    startTime: rfc3339(o.status?.startTime),
    hostname: o.spec?.hostname ?? '',
    ips,
    node: o.spec?.nodeName ?? '',
    owner: controller(o),
    templateHash: o.metadata?.labels?.['pod-template-hash'],
    labels: pick(o.metadata?.labels, keep.labels, keep.labelPatterns),
    annotations: pick(o.metadata?.annotations, keep.annotations, keep.annotationPatterns),
    hostNetwork,
    terminated: phase === 'Succeeded' || phase === 'Failed',
  };
}

/** The watch's JSON has the string; the list's typed objects a Date. */
function rfc3339(t: string | Date | undefined): string {
  if (t === undefined) return '';
  return typeof t === 'string' ? t : t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toOwnedRecord(raw: unknown): OwnedRecord {
  const o = raw as ApiObject;
  return { metadata: meta(o), owner: controller(o) };
}

/** A Namespace or a Node: its uid and the configured labels and annotations. */
export interface MetaRecord {
  metadata: RecordMeta;
  uid: string;
  labels: Record<string, string> | undefined;
  annotations: Record<string, string> | undefined;
}

export function toMetaRecord(raw: unknown, keep: KeptKeys): MetaRecord {
  const o = raw as ApiObject;
  return {
    metadata: meta(o),
    uid: o.metadata?.uid ?? '',
    labels: pick(o.metadata?.labels, keep.labels, keep.labelPatterns),
    annotations: pick(o.metadata?.annotations, keep.annotations, keep.annotationPatterns),
  };
}
