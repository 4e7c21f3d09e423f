/**
 * What `dropreason top` shows is built from snapshots: the cumulative counts at one
 * moment, by reason and direction, and by pod. A snapshot comes either from the
 * pipeline's own data (the in-process receiver) or from a Prometheus scrape.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import { DROP_BYTES, DROP_COUNT, POD_DROP_BYTES, POD_DROP_COUNT } from '../receiver/dropreason/metadata.generated.js';

export interface DropSeries {
  reason: string;
  direction: string;
  /** The kernel function that freed the packets: node series only, when the agent counts locations. */
  location?: string;
  packets: number;
  bytes: number;
}

export interface PodSeries extends DropSeries {
  /** namespace/name when the pod is known, else its address, else NO_ADDRESS. */
  pod: string;
}

export interface Snapshot {
  /** When it was taken, in ms since the epoch. */
  at: number;
  drops: DropSeries[];
  pods: PodSeries[];
}

/** Pod series of drops with no IP header, or that found the kernel's flow map full. */
export const NO_ADDRESS = '(no address)';

/** The name a pod goes by in the table. */
export function podName(namespace: unknown, name: unknown, address: unknown): string {
  if (name) return namespace ? `${String(namespace)}/${String(name)}` : String(name);
  return address ? String(address) : NO_ADDRESS;
}

/** Adds one value into the series with its key, creating it on first sight. */
export class SeriesSet<T extends DropSeries> {
  private readonly byKey = new Map<string, T>();

  add(key: string, make: () => T, field: 'packets' | 'bytes', value: number): void {
    let s = this.byKey.get(key);
    if (!s) this.byKey.set(key, (s = make()));
    s[field] += value;
  }

  values(): T[] {
    return [...this.byKey.values()];
  }
}

export function dropKey(s: { reason: string; direction: string; location?: string }): string {
  return `${s.reason}\u0000${s.direction}\u0000${s.location ?? ''}`;
}

/** A node series' identity: its reason, direction and, when it has one, its location. */
export function dropRow(
  reason: string,
  direction: string,
  location: unknown,
): { reason: string; direction: string; location?: string } {
  return location ? { reason, direction, location: String(location) } : { reason, direction };
}

export function podKey(s: { pod: string; reason: string; direction: string }): string {
  return `${s.pod}\u0000${s.reason}\u0000${s.direction}`;
}

/** Where each of the receiver's metrics goes in a snapshot, by its OTel name. */
export const FIELDS: Readonly<Record<string, { pod: boolean; field: 'packets' | 'bytes' }>> = {
  [DROP_COUNT]: { pod: false, field: 'packets' },
  [DROP_BYTES]: { pod: false, field: 'bytes' },
  [POD_DROP_COUNT]: { pod: true, field: 'packets' },
  [POD_DROP_BYTES]: { pod: true, field: 'bytes' },
};

/**
 * A snapshot of what the receiver pushed: node series by reason, direction and location, pod
 * series by the pod of their resource. Other attributes (error, peer.*, a pod series'
 * location) are summed over. It is
 * dated by its data points (when the receiver read the kernel), else by `fallbackAt`:
 * rates then do not depend on how long the push took to arrive.
 */
export function snapshotFromMetrics(metrics: ResourceMetrics[], fallbackAt: number): Snapshot {
  let at = 0;
  const drops = new SeriesSet<DropSeries>();
  const pods = new SeriesSet<PodSeries>();
  for (const rm of metrics) {
    const r: Attributes = rm.resource.attributes;
    const pod = podName(r['k8s.namespace.name'], r['k8s.pod.name'], r['k8s.pod.ip']);
    for (const scope of rm.scopeMetrics) {
      for (const metric of scope.metrics) {
        const target = FIELDS[metric.descriptor.name];
        if (!target) continue;
        for (const dp of metric.dataPoints) {
          if (typeof dp.value !== 'number') continue;
          at = Math.max(at, dp.endTime[0] * 1000 + dp.endTime[1] / 1e6);
          const reason = String(dp.attributes['reason'] ?? '');
          const direction = String(dp.attributes['direction'] ?? '');
          if (target.pod) {
            const s = { pod, reason, direction };
            pods.add(podKey(s), () => ({ ...s, packets: 0, bytes: 0 }), target.field, dp.value);
          } else {
            const s = dropRow(reason, direction, dp.attributes['location']);
            drops.add(dropKey(s), () => ({ ...s, packets: 0, bytes: 0 }), target.field, dp.value);
          }
        }
      }
    }
  }
  return { at: at || fallbackAt, drops: drops.values(), pods: pods.values() };
}
