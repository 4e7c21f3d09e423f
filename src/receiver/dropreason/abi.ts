/**
 * Mirrors bpf/dropreason.h: the layouts of the maps the BPF side writes, and their
 * decoding. Pure functions over Buffers, so they are unit-tested without a kernel.
 */
import type { MapDump, MapSpec } from '../../native/binding.js';

/** struct metrics_key { u32 reason; s32 return_val; u16 direction; u16 origin; u32 pad; u64 location; } */
export const METRICS_KEY_SIZE = 24;
/** struct metrics_value { u64 count; u64 bytes; } */
export const METRICS_VALUE_SIZE = 16;
/** Entries of metrics_map (METRICS_MAP_ENTRIES). */
export const METRICS_MAP_ENTRIES = 512;

/** Kernel reasons below this are counted in reason_array (FAST_REASONS). */
export const FAST_REASONS = 256;
/** Location slots per reason_array element (FAST_LOCATIONS). */
export const FAST_LOCATIONS = 4;
/** struct location_value { u64 location; u64 count; u64 bytes; } */
const LOCATION_VALUE_SIZE = 24;
/** struct fast_value: FAST_LOCATIONS location_value slots. */
export const FAST_VALUE_SIZE = FAST_LOCATIONS * LOCATION_VALUE_SIZE;

export const Origin = { Kernel: 0, Hook: 1 } as const;

/** enum drop_direction, indexed by its value. */
export const DIRECTIONS = ['unknown', 'ingress', 'egress'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export function directionName(value: number): Direction {
  return DIRECTIONS[value] ?? 'unknown';
}

/** One key of metrics_map with its per-CPU slots summed. */
export interface DropCounter {
  reason: number;
  returnValue: number;
  direction: number;
  origin: number;
  /** kfree_skb's location argument (the address in the function that freed the skb); 0n when not counted. */
  location: bigint;
  count: number;
  bytes: number;
}

/**
 * Sums the per-CPU {count, bytes} slots of entry `i`. Each u64 is read as two u32 halves
 * summed apart, without BigInt: exact while a total is below 2^53, as Number(bigint) is.
 */
function sumValue(dump: MapDump, i: number): { count: number; bytes: number } {
  let countLow = 0;
  let countHigh = 0;
  let bytesLow = 0;
  let bytesHigh = 0;
  const values = dump.values;
  const base = i * dump.valueStride;
  const slots = dump.perCpu ? dump.valueStride / alignedSize(dump.valueSize) : 1;
  const step = alignedSize(dump.valueSize);
  for (let cpu = 0; cpu < slots; cpu++) {
    const off = base + cpu * step;
    countLow += values.readUInt32LE(off);
    countHigh += values.readUInt32LE(off + 4);
    bytesLow += values.readUInt32LE(off + 8);
    bytesHigh += values.readUInt32LE(off + 12);
  }
  return { count: countHigh * 2 ** 32 + countLow, bytes: bytesHigh * 2 ** 32 + bytesLow };
}

function alignedSize(size: number): number {
  return Math.ceil(size / 8) * 8;
}

export function decodeMetricsMap(dump: MapDump): DropCounter[] {
  const out: DropCounter[] = [];
  for (let i = 0; i < dump.count; i++) {
    const k = i * METRICS_KEY_SIZE;
    out.push({
      reason: dump.keys.readUInt32LE(k),
      returnValue: dump.keys.readInt32LE(k + 4),
      direction: dump.keys.readUInt16LE(k + 8),
      origin: dump.keys.readUInt16LE(k + 10),
      location: dump.keys.readBigUInt64LE(k + 16),
      ...sumValue(dump, i),
    });
  }
  return out;
}

/**
 * reason_array: per-CPU array indexed by reason * 3 + direction, for kernel reasons below
 * FAST_REASONS, each element FAST_LOCATIONS {location, count, bytes} slots that each CPU
 * claims in its own order. Returns one entry per element and location that counted
 * anything, summed over CPUs.
 */
export function decodeReasonArray(dump: MapDump): DropCounter[] {
  const out: DropCounter[] = [];
  const cpus = dump.perCpu ? dump.valueStride / alignedSize(dump.valueSize) : 1;
  const step = alignedSize(dump.valueSize);
  for (let i = 0; i < dump.count; i++) {
    const byLocation = new Map<bigint, { count: bigint; bytes: bigint }>();
    for (let cpu = 0; cpu < cpus; cpu++) {
      for (let slot = 0; slot < FAST_LOCATIONS; slot++) {
        const off = i * dump.valueStride + cpu * step + slot * LOCATION_VALUE_SIZE;
        const count = dump.values.readBigUInt64LE(off + 8);
        if (count === 0n) continue;
        const location = dump.values.readBigUInt64LE(off);
        const bytes = dump.values.readBigUInt64LE(off + 16);
        const sum = byLocation.get(location);
        if (sum) {
          sum.count += count;
          sum.bytes += bytes;
        } else {
          byLocation.set(location, { count, bytes });
        }
      }
    }
    if (byLocation.size === 0) continue;
    const index = dump.keys.readUInt32LE(i * 4);
    for (const [location, v] of byLocation) {
      out.push({
        reason: Math.floor(index / DIRECTIONS.length),
        returnValue: 0,
        direction: index % DIRECTIONS.length,
        origin: Origin.Kernel,
        location,
        count: Number(v.count),
        bytes: Number(v.bytes),
      });
    }
  }
  return out;
}

/** overflow_map: per-CPU array of {count, bytes} indexed by direction. */
export function decodeOverflowMap(dump: MapDump): Array<{ direction: number; count: number; bytes: number }> {
  const out = [];
  for (let i = 0; i < dump.count; i++) {
    const v = sumValue(dump, i);
    if (v.count > 0) out.push({ direction: dump.keys.readUInt32LE(i * 4), ...v });
  }
  return out;
}

/**
 * struct adv_key: reason, origin, direction, family, protocol, pad, remote_port, 2 × 16-byte
 * addresses, pad2, location.
 */
export const ADV_KEY_SIZE = 56;

/** A u32 index: the key of the array maps, and the value of adv_control. */
const U32_SIZE = 4;

/** struct sample_budget { u32 epoch; u32 taken; } */
const SAMPLE_BUDGET_SIZE = 8;
/** Bytes of the drop_samples ring buffer (SAMPLE_RING_BYTES). */
export const SAMPLE_RING_BYTES = 256 * 1024;

/**
 * Key and value sizes of every map user space reads or writes. The loader checks them all
 * against the BPF object before it loads it (checkMapLayouts), so the decoders can trust them.
 */
export const MAP_LAYOUTS: Readonly<Record<string, { keySize: number; valueSize: number }>> = {
  metrics_map: { keySize: METRICS_KEY_SIZE, valueSize: METRICS_VALUE_SIZE },
  reason_array: { keySize: U32_SIZE, valueSize: FAST_VALUE_SIZE },
  overflow_map: { keySize: U32_SIZE, valueSize: METRICS_VALUE_SIZE },
  adv_map_0: { keySize: ADV_KEY_SIZE, valueSize: METRICS_VALUE_SIZE },
  adv_map_1: { keySize: ADV_KEY_SIZE, valueSize: METRICS_VALUE_SIZE },
  adv_control: { keySize: U32_SIZE, valueSize: U32_SIZE },
  adv_other: { keySize: U32_SIZE, valueSize: METRICS_VALUE_SIZE },
  drop_samples: { keySize: 0, valueSize: 0 },
  sample_budget: { keySize: U32_SIZE, valueSize: SAMPLE_BUDGET_SIZE },
  sample_epoch: { keySize: U32_SIZE, valueSize: U32_SIZE },
  sample_refused: { keySize: U32_SIZE, valueSize: 8 },
};

/** Throws one Error naming every map of MAP_LAYOUTS that is missing from `maps` or laid out otherwise. */
export function checkMapLayouts(maps: readonly MapSpec[]): void {
  const errors: string[] = [];
  for (const [name, want] of Object.entries(MAP_LAYOUTS)) {
    const got = maps.find((m) => m.name === name);
    if (!got) errors.push(`the BPF object has no ${name}`);
    else if (got.keySize !== want.keySize || got.valueSize !== want.valueSize) {
      errors.push(
        `${name}: the BPF object has key/value sizes ${got.keySize}/${got.valueSize} bytes, ` +
          `but this build expects ${want.keySize}/${want.valueSize}`,
      );
    }
  }
  if (errors.length) throw new Error(`${errors.join('; ')}: rebuild the BPF object and the agent together`);
}

/** One flow of the advanced maps (plain hashes: one {count, bytes} per flow, for all CPUs). */
export interface FlowCounter {
  reason: number;
  origin: number;
  direction: number;
  /** 4 or 6, or 0 when the dropped skb held no IP header. */
  family: 0 | 4 | 6;
  /** IANA protocol number (6 TCP, 17 UDP), 0 if unknown. */
  protocol: number;
  localAddress: string;
  remoteAddress: string;
  remotePort: number;
  /** As in DropCounter. */
  location: bigint;
  count: number;
  bytes: number;
}

/** Text form of an IPv6 address, with the longest run of zero groups as `::`. */
export function formatIPv6(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

function formatAddress(family: number, bytes: Buffer): string {
  if (family === 2) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (family === 10) return formatIPv6(bytes);
  return '';
}

export function decodeAdvMap(dump: MapDump): FlowCounter[] {
  const out: FlowCounter[] = [];
  for (let i = 0; i < dump.count; i++) {
    const k = dump.keys.subarray(i * ADV_KEY_SIZE, (i + 1) * ADV_KEY_SIZE);
    const family = k.readUInt8(7);
    out.push({
      reason: k.readUInt32LE(0),
      origin: k.readUInt16LE(4),
      direction: k.readUInt8(6),
      family: family === 2 ? 4 : family === 10 ? 6 : 0,
      protocol: k.readUInt8(8),
      remotePort: k.readUInt16LE(10),
      localAddress: formatAddress(family, k.subarray(12, 28)),
      remoteAddress: formatAddress(family, k.subarray(28, 44)),
      location: k.readBigUInt64LE(48),
      ...sumValue(dump, i),
    });
  }
  return out;
}

/**
 * struct drop_sample: timestamp, location, epoch, reason, origin, direction, family,
 * protocol, pad, pad2, len, ifindex, netns, sport, dport, saddr[16], daddr[16].
 */
export const DROP_SAMPLE_SIZE = 80;
/** Budget slots of sample_budget and sample_refused (SAMPLE_SLOTS and the slot numbers before it). */
export const SAMPLE_HOOK_SLOT = FAST_REASONS;
export const SAMPLE_OTHER_SLOT = 2 * FAST_REASONS - 1;
export const SAMPLE_GLOBAL_SLOT = 2 * FAST_REASONS;
export const SAMPLE_SLOTS = SAMPLE_GLOBAL_SLOT + 1;
/** sample_refused's slot for samples lost in delivery. */
export const SAMPLE_LOST_SLOT = SAMPLE_GLOBAL_SLOT;

/** One dropped packet as the kernel sampled it. */
export interface DropSample {
  /** bpf_ktime_get_ns() when it was taken: CLOCK_MONOTONIC nanoseconds. */
  timestamp: bigint;
  location: bigint;
  /** The budget epoch it was taken in. */
  epoch: number;
  reason: number;
  origin: number;
  direction: number;
  family: 0 | 4 | 6;
  protocol: number;
  length: number;
  ifindex: number;
  netns: number;
  sourceAddress: string;
  destinationAddress: string;
  /** 0 when not TCP or UDP. */
  sourcePort: number;
  destinationPort: number;
}

/** Decodes one record of drop_samples; throws if it is not a struct drop_sample. */
export function decodeSample(record: Buffer): DropSample {
  if (record.length < DROP_SAMPLE_SIZE) {
    throw new Error(`a drop sample of ${record.length} bytes; this build expects ${DROP_SAMPLE_SIZE}`);
  }
  const family = record.readUInt8(27);
  return {
    timestamp: record.readBigUInt64LE(0),
    location: record.readBigUInt64LE(8),
    epoch: record.readUInt32LE(16),
    reason: record.readUInt32LE(20),
    origin: record.readUInt16LE(24),
    direction: record.readUInt8(26),
    family: family === 2 ? 4 : family === 10 ? 6 : 0,
    protocol: record.readUInt8(28),
    length: record.readUInt32LE(32),
    ifindex: record.readUInt32LE(36),
    netns: record.readUInt32LE(40),
    sourcePort: record.readUInt16LE(44),
    destinationPort: record.readUInt16LE(46),
    sourceAddress: formatAddress(family, record.subarray(48, 64)),
    destinationAddress: formatAddress(family, record.subarray(64, 80)),
  };
}

/** The budget slot of a reason, as the kernel's sample_slot() picks it. */
export function sampleSlot(reason: number, origin: number): number {
  if (origin === Origin.Kernel && reason < FAST_REASONS) return reason;
  if (origin === Origin.Hook && reason < FAST_REASONS - 1) return SAMPLE_HOOK_SLOT + reason;
  return SAMPLE_OTHER_SLOT;
}

/** sample_refused: per-CPU u64 by slot. Refused samples by budget slot, and those lost in delivery. */
export function decodeSampleRefused(dump: MapDump): { refused: Map<number, number>; lost: number } {
  const refused = new Map<number, number>();
  let lost = 0;
  const cpus = dump.perCpu ? dump.valueStride / 8 : 1;
  for (let i = 0; i < dump.count; i++) {
    let n = 0n;
    for (let cpu = 0; cpu < cpus; cpu++) n += dump.values.readBigUInt64LE(i * dump.valueStride + cpu * 8);
    if (n === 0n) continue;
    const slot = dump.keys.readUInt32LE(i * 4);
    if (slot === SAMPLE_LOST_SLOT) lost = Number(n);
    else refused.set(slot, Number(n));
  }
  return { refused, lost };
}
