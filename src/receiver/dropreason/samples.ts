/**
 * Samples of dropped packets, as log records. The kernel takes them under a budget and
 * sends them through a ring buffer (bpf/dropreason.bpf.c, sample_drop()); here each becomes
 * one log record whose attributes are defined in metadata.yaml. In advanced mode the
 * records are grouped by local address (resource attribute k8s.pod.ip), so the
 * k8sattributes processor names their pod as it does for metrics.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import type { HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';

import type { LogRecordData, ResourceLogs } from '../../service/component.js';
import { resourceFromAttributes } from '../../service/resource.js';
import { directionName, type DropSample, Origin, SAMPLE_HOOK_SLOT, SAMPLE_OTHER_SLOT, sampleSlot } from './abi.js';
import type { metadata } from './metadata.generated.js';
import { SCOPE } from './metric_data.js';
import { OVERFLOW_REASON, type ReasonNames } from './reasons.js';

/** The attributes a sample's log record may carry: metadata.yaml, under logs. */
export type SampleAttribute = (typeof metadata.logs.attributes)[number];

const TRANSPORTS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp', 132: 'sctp' };

/** SeverityNumber INFO: a sample describes a drop the counts already report. */
const SEVERITY = { number: 9, text: 'INFO' };

/**
 * The kernel's budget, applied again: two CPUs can both take the last sample of a budget,
 * so user space keeps at most the limits per epoch and counts the rest as refused.
 */
export class SampleBudget {
  private readonly epochs = new Map<number, { all: number; slots: Map<number, number> }>();

  constructor(
    private readonly perSecond: number,
    private readonly perReason: number,
  ) {}

  /** Whether the sample fits its epoch's budget; if so, it is charged. */
  admit(sample: Pick<DropSample, 'epoch' | 'reason' | 'origin'>): boolean {
    let e = this.epochs.get(sample.epoch);
    if (!e) {
      e = { all: 0, slots: new Map() };
      this.epochs.set(sample.epoch, e);
      // Epochs advance once a second: only the last few can still have samples on the way.
      for (const old of this.epochs.keys()) if (old < sample.epoch - 4) this.epochs.delete(old);
    }
    const slot = sampleSlot(sample.reason, sample.origin);
    const taken = e.slots.get(slot) ?? 0;
    if (e.all >= this.perSecond || taken >= this.perReason) return false;
    e.all++;
    e.slots.set(slot, taken + 1);
    return true;
  }
}

/** The reason name of a budget slot (the reasons that share a slot read OTHER). */
export function slotReason(slot: number, names: ReasonNames): string {
  if (slot < SAMPLE_HOOK_SLOT) return names.name(Origin.Kernel, slot);
  if (slot < SAMPLE_OTHER_SLOT) return names.name(Origin.Hook, slot - SAMPLE_HOOK_SLOT);
  return OVERFLOW_REASON;
}

/** Nanoseconds of CLOCK_MONOTONIC (bpf_ktime_get_ns) to wall-clock time, by an offset measured once. */
export class KernelClock {
  readonly offsetNs: bigint;

  constructor(wallMs = Date.now(), monotonicNs = process.hrtime.bigint()) {
    this.offsetNs = BigInt(wallMs) * 1_000_000n - monotonicNs;
  }

  toHrTime(monotonicNs: bigint): HrTime {
    const ns = monotonicNs + this.offsetNs;
    return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  }
}

/**
 * Names of the devices of the agent's network namespace, by index, from /sys/class/net;
 * read again on a miss, at most once per refresh interval.
 */
export class InterfaceNames {
  private names = new Map<number, string>();
  private readAt = -Infinity;

  constructor(
    /** The agent's network namespace inode: devices of other namespaces are not named. */
    readonly netns: number,
    private readonly root = '/sys/class/net',
    private readonly refreshMs = 10_000,
  ) {}

  async name(ifindex: number, netns: number, now = Date.now()): Promise<string | undefined> {
    if (ifindex === 0 || netns !== this.netns) return undefined;
    if (!this.names.has(ifindex) && now - this.readAt >= this.refreshMs) {
      this.readAt = now;
      this.names = await readIndexes(this.root);
    }
    return this.names.get(ifindex);
  }
}

async function readIndexes(root: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let devices: string[];
  try {
    devices = await fs.readdir(root);
  } catch {
    return out;
  }
  await Promise.all(
    devices.map(async (dev) => {
      try {
        out.set(Number((await fs.readFile(path.join(root, dev, 'ifindex'), 'utf8')).trim()), dev);
      } catch {
        // A device that went away between the listing and the read.
      }
    }),
  );
  return out;
}

/** What a sample's record says besides the sample itself. */
export interface SampleContext {
  reason: string;
  location: string;
  interfaceName: string | undefined;
}

/** `10.0.0.1:53`, `[fd00::1]:53`, or the address alone without a port. */
function endpoint(address: string, port: number, withPort: boolean): string {
  if (!withPort) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One log record for one sample: its attributes, and a readable line as its body. */
export function sampleRecord(
  sample: DropSample,
  ctx: SampleContext,
  clock: KernelClock,
  observed: HrTime,
): LogRecordData {
  const direction = directionName(sample.direction);
  const attributes: Partial<Record<SampleAttribute, string | number>> = {
    'dropreason.reason': ctx.reason,
    'dropreason.direction': direction,
    'dropreason.location': ctx.location,
    'dropreason.packet.length': sample.length,
  };
  const ports = sample.protocol === 6 || sample.protocol === 17;
  const transport = TRANSPORTS[sample.protocol] ?? String(sample.protocol);
  let flow = 'no IP header';
  if (sample.family !== 0) {
    attributes['network.type'] = sample.family === 4 ? 'ipv4' : 'ipv6';
    attributes['network.transport'] = transport;
    attributes['source.address'] = sample.sourceAddress;
    attributes['destination.address'] = sample.destinationAddress;
    if (ports) {
      attributes['source.port'] = sample.sourcePort;
      attributes['destination.port'] = sample.destinationPort;
    }
    flow =
      `${transport} ${endpoint(sample.sourceAddress, sample.sourcePort, ports)}` +
      ` -> ${endpoint(sample.destinationAddress, sample.destinationPort, ports)}`;
  }
  let device = '';
  if (sample.ifindex !== 0) {
    attributes['dropreason.interface.index'] = sample.ifindex;
    if (ctx.interfaceName) attributes['network.interface.name'] = ctx.interfaceName;
    device = ` dev=${ctx.interfaceName ?? `#${sample.ifindex}`}`;
  }
  if (sample.netns !== 0) attributes['dropreason.netns.inode'] = sample.netns;
  const body =
    `drop ${ctx.reason} ${direction} ${flow} len=${sample.length}${device}` +
    `${sample.netns ? ` netns=${sample.netns}` : ''} at ${ctx.location}`;
  return {
    hrTime: clock.toHrTime(sample.timestamp),
    observedHrTime: observed,
    severityNumber: SEVERITY.number,
    severityText: SEVERITY.text,
    body,
    attributes,
  };
}

/** The address of the pod end of a sample: its destination on ingress, its source on egress. */
export function localAddress(sample: DropSample): string | undefined {
  if (sample.family === 0) return undefined;
  if (sample.direction === 1) return sample.destinationAddress;
  if (sample.direction === 2) return sample.sourceAddress;
  return undefined;
}

/**
 * The records as ResourceLogs: all under the agent's resource in basic mode; in advanced
 * mode one per local address, with k8s.pod.ip.
 */
export function sampleLogs(
  records: Array<{ sample: DropSample; record: LogRecordData }>,
  resource: Resource,
  perPod: boolean,
): ResourceLogs[] {
  const groups = new Map<string, LogRecordData[]>();
  for (const { sample, record } of records) {
    const key = (perPod && localAddress(sample)) || '';
    const list = groups.get(key) ?? [];
    list.push(record);
    groups.set(key, list);
  }
  return [...groups].map(([address, logRecords]) => ({
    resource: address ? resource.merge(resourceFromAttributes({ 'k8s.pod.ip': address })) : resource,
    scopeLogs: [{ scope: SCOPE, logRecords }],
  }));
}
