import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { loadBinding, type MapDump, type MapSpec } from '../../../../src/native/binding.js';
import {
  decodeReasonArray,
  DIRECTIONS,
  MAP_LAYOUTS,
  checkMapLayouts,
  decodeAdvMap,
  decodeMetricsMap,
  decodeOverflowMap,
  directionName,
} from '../../../../src/receiver/dropreason/abi.js';
import { DEFAULT_OBJECT_PATH } from '../../../../src/receiver/dropreason/drop_program.js';

interface Entry {
  reason: number;
  returnValue: number;
  direction: number;
  origin: number;
  location?: bigint;
  /** One [count, bytes] pair per CPU. */
  slots: Array<[bigint, bigint]>;
}

/**
 * Lays out a batch read of metrics_map the way the kernel returns a per-CPU hash:
 * 24-byte keys { u32 reason; s32 return_val; u16 direction; u16 origin; u32 pad; u64 location }
 * back to back,
 * then per key one 16-byte { u64 count; u64 bytes } slot per possible CPU.
 */
function metricsDump(entries: Entry[], ncpus: number, perCpu = true): MapDump {
  const K = 24;
  const keys = Buffer.alloc(entries.length * K);
  const stride = perCpu ? 16 * ncpus : 16;
  const values = Buffer.alloc(entries.length * stride);
  entries.forEach((e, i) => {
    keys.writeUInt32LE(e.reason, i * K);
    keys.writeInt32LE(e.returnValue, i * K + 4);
    keys.writeUInt16LE(e.direction, i * K + 8);
    keys.writeUInt16LE(e.origin, i * K + 10);
    keys.writeBigUInt64LE(e.location ?? 0n, i * K + 16);
    e.slots.forEach(([count, bytes], cpu) => {
      values.writeBigUInt64LE(count, i * stride + cpu * 16);
      values.writeBigUInt64LE(bytes, i * stride + cpu * 16 + 8);
    });
  });
  return { count: entries.length, keys, values, keySize: K, valueSize: 16, valueStride: stride, perCpu };
}

describe('decodeMetricsMap', () => {
  it('sums every per-CPU slot of each key', () => {
    const dump = metricsDump(
      [
        {
          reason: 3,
          returnValue: 0,
          direction: 1,
          origin: 0,
          slots: [
            [1n, 60n],
            [0n, 0n],
            [2n, 140n],
            [4n, 4000n],
          ],
        },
        {
          reason: 5,
          returnValue: -11,
          direction: 2,
          origin: 1,
          location: 0xffff_ffff_81fb_df9an,
          slots: [
            [0n, 0n],
            [0n, 0n],
            [0n, 0n],
            [9n, 0n],
          ],
        },
        {
          reason: 0xffff_ffff,
          returnValue: -2_147_483_648,
          direction: 0,
          origin: 0,
          slots: [
            [1n, 1n],
            [1n, 1n],
            [1n, 1n],
            [1n, 1n],
          ],
        },
      ],
      4,
    );
    expect(decodeMetricsMap(dump)).toEqual([
      { reason: 3, returnValue: 0, direction: 1, origin: 0, location: 0n, count: 7, bytes: 4200 },
      { reason: 5, returnValue: -11, direction: 2, origin: 1, location: 0xffff_ffff_81fb_df9an, count: 9, bytes: 0 },
      {
        reason: 4_294_967_295,
        returnValue: -2_147_483_648,
        direction: 0,
        origin: 0,
        location: 0n,
        count: 4,
        bytes: 4,
      },
    ]);
  });

  it('adds counts beyond 32 bits exactly', () => {
    const big = 1n << 40n; // 1_099_511_627_776
    const dump = metricsDump(
      [
        {
          reason: 12,
          returnValue: 0,
          direction: 2,
          origin: 0,
          slots: [
            [big, big * 1500n],
            [big, big * 1500n],
          ],
        },
      ],
      2,
    );
    const [c] = decodeMetricsMap(dump);
    expect(c?.count).toBe(2_199_023_255_552);
    expect(c?.bytes).toBe(3_298_534_883_328_000);
  });

  it('sums the low 32 bits of each CPU past 2^32 exactly', () => {
    const low = 2n ** 32n - 1n;
    const slots: Array<[bigint, bigint]> = [
      [low, low],
      [low, 2n ** 40n + low],
      [1n, 2n ** 52n],
    ];
    const [c] = decodeMetricsMap(metricsDump([{ reason: 3, returnValue: 0, direction: 1, origin: 0, slots }], 3));
    expect(c?.count).toBe(Number(low * 2n + 1n));
    expect(c?.bytes).toBe(Number(low * 2n + 2n ** 40n + 2n ** 52n));
  });

  it('reads one slot per key when the map is not per-CPU', () => {
    const dump = metricsDump([{ reason: 2, returnValue: 0, direction: 1, origin: 0, slots: [[3n, 180n]] }], 1, false);
    expect(decodeMetricsMap(dump)).toEqual([
      { reason: 2, returnValue: 0, direction: 1, origin: 0, location: 0n, count: 3, bytes: 180 },
    ]);
  });

  it('handles many CPUs and an empty map', () => {
    const slots = Array.from({ length: 128 }, (_, cpu) => [BigInt(cpu), 100n] as [bigint, bigint]);
    const [c] = decodeMetricsMap(metricsDump([{ reason: 7, returnValue: 0, direction: 1, origin: 0, slots }], 128));
    expect(c).toMatchObject({ count: (127 * 128) / 2, bytes: 12_800 });
    expect(decodeMetricsMap(metricsDump([], 8))).toEqual([]);
  });
});

describe('checkMapLayouts', () => {
  const specs = (): MapSpec[] =>
    Object.entries(MAP_LAYOUTS).map(([name, l]) => ({ name, type: 'hash', maxEntries: 1, ...l }));

  it('accepts the layouts this build expects', () => {
    expect(() => checkMapLayouts(specs())).not.toThrow();
  });

  it('names every map laid out otherwise, with the sizes found and the sizes expected', () => {
    const maps = specs().map((m) =>
      m.name === 'metrics_map' ? { ...m, keySize: 16 } : m.name === 'overflow_map' ? { ...m, valueSize: 8 } : m,
    );
    expect(() => checkMapLayouts(maps)).toThrow(
      'metrics_map: the BPF object has key/value sizes 16/16 bytes, but this build expects 24/16; ' +
        'overflow_map: the BPF object has key/value sizes 4/8 bytes, but this build expects 4/16: ' +
        'rebuild the BPF object and the agent together',
    );
  });

  it('names a map the object lacks', () => {
    expect(() => checkMapLayouts(specs().filter((m) => m.name !== 'adv_other'))).toThrow(
      'the BPF object has no adv_other: rebuild the BPF object and the agent together',
    );
  });

  // The built object's own BTF is the ground truth for the C structs (bpf/dropreason.h).
  const object = DEFAULT_OBJECT_PATH;
  const missing = fs.existsSync(object) ? undefined : `${object} is not built (run scripts/setup.sh)`;
  if (missing) console.log(`skipping the built-object layout test: ${missing}`);
  it.skipIf(missing !== undefined)('matches the maps of the built BPF object', () => {
    const handle = new (loadBinding().BpfObject)(object);
    try {
      const maps = handle.maps();
      for (const [name, layout] of Object.entries(MAP_LAYOUTS)) {
        expect(
          maps.find((m) => m.name === name),
          name,
        ).toMatchObject(layout);
      }
    } finally {
      handle.close();
    }
  });
});

describe('decodeOverflowMap', () => {
  /** overflow_map: a per-CPU array indexed by direction, so the keys are u32 indices. */
  function overflowDump(perDirection: Array<Array<[bigint, bigint]>>, ncpus: number): MapDump {
    const stride = 16 * ncpus;
    const keys = Buffer.alloc(perDirection.length * 4);
    const values = Buffer.alloc(perDirection.length * stride);
    perDirection.forEach((slots, i) => {
      keys.writeUInt32LE(i, i * 4);
      slots.forEach(([count, bytes], cpu) => {
        values.writeBigUInt64LE(count, i * stride + cpu * 16);
        values.writeBigUInt64LE(bytes, i * stride + cpu * 16 + 8);
      });
    });
    return { count: perDirection.length, keys, values, keySize: 4, valueSize: 16, valueStride: stride, perCpu: true };
  }

  it('sums per-CPU slots by direction and leaves out directions with no drops', () => {
    const dump = overflowDump(
      [
        [
          [0n, 0n],
          [0n, 0n],
          [0n, 0n],
        ],
        [
          [2n, 100n],
          [0n, 0n],
          [5n, 300n],
        ],
        [
          [0n, 0n],
          [1n, 1500n],
          [0n, 0n],
        ],
      ],
      3,
    );
    expect(decodeOverflowMap(dump)).toEqual([
      { direction: 1, count: 7, bytes: 400 },
      { direction: 2, count: 1, bytes: 1500 },
    ]);
  });
});

describe('decodeAdvMap', () => {
  /**
   * A batch read of adv_map_0/1, plain hashes: 56-byte keys { u32 reason; u16 origin;
   * u8 direction; u8 family; u8 protocol; u8 pad; u16 remote_port; u8 local_addr[16];
   * u8 remote_addr[16]; u32 pad2; u64 location } back to back, then one 16-byte
   * { u64 count; u64 bytes } per key.
   */
  it('reads each flow and its one {count, bytes}', () => {
    const K = 56;
    const keys = Buffer.alloc(2 * K);
    const values = Buffer.alloc(2 * 16);
    // 10.0.0.1 → 10.0.0.2:53, UDP, egress, kernel reason 5, at location 0xffff1234; its count past 2^32.
    keys.writeUInt32LE(5, 0);
    keys.writeUInt16LE(0, 4);
    keys.writeUInt8(2, 6);
    keys.writeUInt8(2, 7);
    keys.writeUInt8(17, 8);
    keys.writeUInt16LE(53, 10);
    Buffer.from([10, 0, 0, 1]).copy(keys, 12);
    Buffer.from([10, 0, 0, 2]).copy(keys, 28);
    keys.writeBigUInt64LE(0xffff1234n, 48);
    values.writeBigUInt64LE(2n ** 33n + 1n, 0);
    values.writeBigUInt64LE(700n, 8);
    // fd00::1 ← fd00::2:443, TCP, ingress, a hook reason.
    keys.writeUInt32LE(3, K);
    keys.writeUInt16LE(1, K + 4);
    keys.writeUInt8(1, K + 6);
    keys.writeUInt8(10, K + 7);
    keys.writeUInt8(6, K + 8);
    keys.writeUInt16LE(443, K + 10);
    Buffer.from('fd000000000000000000000000000001', 'hex').copy(keys, K + 12);
    Buffer.from('fd000000000000000000000000000002', 'hex').copy(keys, K + 28);
    values.writeBigUInt64LE(1n, 16);
    values.writeBigUInt64LE(60n, 24);
    const dump: MapDump = { count: 2, keys, values, keySize: K, valueSize: 16, valueStride: 16, perCpu: false };
    expect(decodeAdvMap(dump)).toEqual([
      {
        reason: 5,
        origin: 0,
        direction: 2,
        family: 4,
        protocol: 17,
        remotePort: 53,
        localAddress: '10.0.0.1',
        remoteAddress: '10.0.0.2',
        location: 0xffff1234n,
        count: 2 ** 33 + 1,
        bytes: 700,
      },
      {
        reason: 3,
        origin: 1,
        direction: 1,
        family: 6,
        protocol: 6,
        remotePort: 443,
        localAddress: 'fd00::1',
        remoteAddress: 'fd00::2',
        location: 0n,
        count: 1,
        bytes: 60,
      },
    ]);
  });
});

describe('directionName', () => {
  it('follows enum drop_direction in bpf/dropreason.h', () => {
    expect(directionName(0)).toBe('unknown');
    expect(directionName(1)).toBe('ingress');
    expect(directionName(2)).toBe('egress');
    expect(DIRECTIONS).toEqual(['unknown', 'ingress', 'egress']);
  });
  it('reads any other value as unknown', () => {
    for (const v of [3, 4, 255, 65535, -1]) expect(directionName(v)).toBe('unknown');
  });
});

describe('decodeReasonArray', () => {
  /** reason_array as the kernel returns it: per index and CPU, 4 slots of { u64 location; u64 count; u64 bytes }. */
  function reasonArray(
    entries: number,
    cpus: number,
    slots: Array<[index: number, cpu: number, slot: number, location: bigint, count: bigint, bytes: bigint]>,
  ): MapDump {
    const valueSize = 4 * 24;
    const keys = Buffer.alloc(entries * 4);
    const values = Buffer.alloc(entries * valueSize * cpus);
    for (let i = 0; i < entries; i++) keys.writeUInt32LE(i, i * 4);
    for (const [index, cpu, slot, location, count, bytes] of slots) {
      const off = index * valueSize * cpus + cpu * valueSize + slot * 24;
      values.writeBigUInt64LE(location, off);
      values.writeBigUInt64LE(count, off + 8);
      values.writeBigUInt64LE(bytes, off + 16);
    }
    return { count: entries, keys, values, keySize: 4, valueSize, valueStride: valueSize * cpus, perCpu: true };
  }

  it('turns non-zero slots into kernel counters: index = reason * 3 + direction, per-CPU slots summed', () => {
    // reason 1, egress (index 5): 3 + 4 packets, 100 + 200 bytes, location not counted
    const dump = reasonArray(6, 2, [
      [5, 0, 0, 0n, 3n, 100n],
      [5, 1, 0, 0n, 4n, 200n],
    ]);
    expect(decodeReasonArray(dump)).toEqual([
      { reason: 1, returnValue: 0, direction: 2, origin: 0, location: 0n, count: 7, bytes: 300 },
    ]);
  });

  it('sums each location over CPUs whatever slot each CPU gave it', () => {
    const [a, b] = [0xffff_ffff_820a_7b00n, 0xffff_ffff_81fb_e000n];
    const dump = reasonArray(12, 2, [
      [10, 0, 0, a, 1n, 10n], // reason 3, ingress
      [10, 0, 1, b, 2n, 20n],
      [10, 1, 0, b, 4n, 40n],
      [10, 1, 3, a, 8n, 80n],
      [11, 1, 2, a, 16n, 160n], // reason 3, egress
    ]);
    expect(decodeReasonArray(dump)).toEqual([
      { reason: 3, returnValue: 0, direction: 1, origin: 0, location: a, count: 9, bytes: 90 },
      { reason: 3, returnValue: 0, direction: 1, origin: 0, location: b, count: 6, bytes: 60 },
      { reason: 3, returnValue: 0, direction: 2, origin: 0, location: a, count: 16, bytes: 160 },
    ]);
  });
});
