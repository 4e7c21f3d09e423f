/**
 * Advanced mode's per-pod series. The kernel hands over per-flow counts since the last
 * read; this table adds them to cumulative series per local address, and builds one
 * ResourceMetrics per address (resource attribute k8s.pod.ip) for the pipeline, where
 * the k8sattributes processor can name the pod. Series idle for longer than the TTL are
 * dropped, so pods that went away stop costing anything.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import { resourceFromAttributes } from '../../service/resource.js';
import { directionName, type FlowCounter } from './abi.js';
import { POD_DROP_BYTES, POD_DROP_COUNT } from './metadata.generated.js';
import { cumulativeSum, hrTime, SCOPE } from './metric_data.js';
import { OVERFLOW_REASON, type ReasonNames } from './reasons.js';

export type PeerAttribute = 'address' | 'port' | 'transport';

const TRANSPORTS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp', 132: 'sctp' };

interface Series {
  /** Local address, '' for drops with no IP header or no room in the kernel map. */
  local: string;
  attributes: Attributes;
  count: number;
  bytes: number;
  start: HrTime;
  lastChangeMs: number;
}

export interface FlowTableOptions {
  peerAttributes: readonly PeerAttribute[];
  ttlMs: number;
  exclude: ReadonlySet<string>;
}

/** One series per local address and attribute values; '' and 0 stand for an absent attribute. */
function seriesKey(
  local: string,
  reason: string,
  direction: string,
  address: string,
  port: number,
  transport: string,
  location: string,
): string {
  return `${local}\u0000${reason}\u0000${direction}\u0000${address}\u0000${port}\u0000${transport}\u0000${location}`;
}

function attributesOf(
  reason: string,
  direction: string,
  address: string,
  port: number,
  transport: string,
  location: string,
): Attributes {
  const attributes: Attributes = { reason, direction };
  if (location) attributes.location = location;
  if (address) attributes['peer.address'] = address;
  if (port) attributes['peer.port'] = port;
  if (transport) attributes['network.transport'] = transport;
  return attributes;
}

export class FlowTable {
  private readonly series = new Map<string, Series>();
  /**
   * The resource of each local address, made once: a new one at every collection would
   * make exporters key its attributes again (they cache keys by attributes object).
   */
  private readonly resources = new Map<string, { base: Resource; resource: Resource }>();

  constructor(
    private readonly names: ReasonNames,
    private readonly opts: FlowTableOptions,
  ) {}

  get size(): number {
    return this.series.size;
  }

  /** Adds the counts of one read: flows from the kernel, and drops the map had no room for. */
  add(
    flows: FlowCounter[],
    other: Array<{ direction: number; count: number; bytes: number }>,
    nowMs: number,
    /** The function name of a drop location; '' for 0 (not counted). */
    locationName: (address: bigint) => string = () => '',
  ): void {
    const peer = this.opts.peerAttributes;
    const withAddress = peer.includes('address');
    const withPort = peer.includes('port');
    const withTransport = peer.includes('transport');
    for (const f of flows) {
      const reason = this.names.name(f.origin, f.reason);
      if (this.opts.exclude.has(reason)) continue;
      const direction = directionName(f.direction);
      const ip = f.family !== 0;
      const address = ip && withAddress ? f.remoteAddress : '';
      const port = ip && withPort ? f.remotePort : 0;
      const transport = ip && withTransport && f.protocol ? (TRANSPORTS[f.protocol] ?? String(f.protocol)) : '';
      const location = locationName(f.location);
      // Runs for every flow of every read: key on the values; attributes only for a new series.
      const key = seriesKey(f.localAddress, reason, direction, address, port, transport, location);
      const s =
        this.series.get(key) ??
        this.create(key, f.localAddress, attributesOf(reason, direction, address, port, transport, location), nowMs);
      s.count += f.count;
      s.bytes += f.bytes;
      s.lastChangeMs = nowMs;
    }
    // adv_other is cumulative in the kernel: it replaces, not adds.
    for (const o of other) {
      const direction = directionName(o.direction);
      const key = seriesKey('', OVERFLOW_REASON, direction, '', 0, '', '');
      const s = this.series.get(key) ?? this.create(key, '', { reason: OVERFLOW_REASON, direction }, nowMs);
      if (s.count !== o.count) s.lastChangeMs = nowMs;
      s.count = o.count;
      s.bytes = o.bytes;
    }
  }

  private create(key: string, local: string, attributes: Attributes, nowMs: number): Series {
    const s = { local, attributes, count: 0, bytes: 0, start: hrTime(nowMs), lastChangeMs: nowMs };
    this.series.set(key, s);
    return s;
  }

  private resourceOf(local: string, base: Resource): Resource {
    let r = this.resources.get(local);
    if (r?.base !== base) {
      r = { base, resource: base.merge(resourceFromAttributes({ 'k8s.pod.ip': local })) };
      this.resources.set(local, r);
    }
    return r.resource;
  }

  /** Forgets idle series, then builds one ResourceMetrics per local address. */
  resourceMetrics(base: Resource, nowMs: number): ResourceMetrics[] {
    const byLocal = new Map<string, Series[]>();
    for (const [key, s] of this.series) {
      if (nowMs - s.lastChangeMs > this.opts.ttlMs) {
        this.series.delete(key);
        continue;
      }
      const list = byLocal.get(s.local);
      if (list) list.push(s);
      else byLocal.set(s.local, [s]);
    }
    for (const local of this.resources.keys()) if (!byLocal.has(local)) this.resources.delete(local);
    const end = hrTime(nowMs);
    const points = (series: Series[], pick: (s: Series) => number) =>
      series.map((s) => ({ attributes: s.attributes, start: s.start, value: pick(s) }));
    return [...byLocal].map(([local, series]) => ({
      // Drops with no IP header, or no room in the kernel map, belong to the node.
      resource: local ? this.resourceOf(local, base) : base,
      scopeMetrics: [
        {
          scope: SCOPE,
          metrics: [
            cumulativeSum(
              POD_DROP_COUNT,
              points(series, (s) => s.count),
              end,
            ),
            cumulativeSum(
              POD_DROP_BYTES,
              points(series, (s) => s.bytes),
              end,
            ),
          ],
        },
      ],
    }));
  }
}
