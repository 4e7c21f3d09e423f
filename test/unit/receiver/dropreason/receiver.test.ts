import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import type { MapDump, NativeBinding } from '../../../../src/native/binding.js';
import type { ResourceLogs } from '../../../../src/service/component.js';
import { dropReasonReceiverFactory } from '../../../../src/receiver/dropreason/factory.js';
import { DROP_COUNT } from '../../../../src/receiver/dropreason/metadata.generated.js';
import { KernelSymbols, kallsymsSource } from '../../../../src/receiver/dropreason/kallsyms.js';
import { effectiveCapabilities } from '../../../../src/receiver/dropreason/privileges.js';
import { DropReasonReceiver } from '../../../../src/receiver/dropreason/receiver.js';
import { fakeBinding } from '../../fake_binding.js';
import { settingsFor } from '../../support.js';
import { DROPREASON_DEFAULTS } from './defaults.js';

const config = DROPREASON_DEFAULTS;

describe('DropReasonReceiver lifecycle (no kernel)', () => {
  it('does no I/O when created and shuts down without being started', async () => {
    let loaded = 0;
    const binding = (): NativeBinding => {
      loaded++;
      throw new Error('the binding must not be loaded before start()');
    };
    const consumed: unknown[] = [];
    const receiver = new DropReasonReceiver(
      settingsFor('receivers.dropreason'),
      config,
      { consume: async (m) => void consumed.push(m) },
      binding,
    );
    expect(receiver.healthy()).toBe('not started');
    await receiver.shutdown();
    await receiver.shutdown();
    expect(receiver.healthy()).toBe('not started');
    expect(loaded).toBe(0);
    expect(consumed).toEqual([]);
  });

  it('is created by its factory without loading anything', async () => {
    const receiver = dropReasonReceiverFactory.create(settingsFor('receivers.dropreason'), config, {
      consume: async () => {},
    });
    await receiver.shutdown();
  });

  const noCapabilities = effectiveCapabilities() === 0n;
  if (!noCapabilities) console.log('skipping the preflight capability test: this process has capabilities');
  it.skipIf(!noCapabilities)('fails preflight without capabilities, naming what is missing', () => {
    expect(() => dropReasonReceiverFactory.preflight?.(config)).toThrow(
      /^missing capability CAP_BPF and CAP_PERFMON: /,
    );
  });
});

describe('DropReasonReceiver health (fake kernel)', () => {
  it('is healthy after a read, and not once 3 collection intervals pass without one', async () => {
    const receiver = new DropReasonReceiver(
      settingsFor('receivers.dropreason'),
      { ...config, interfaces: { ...config.interfaces, enabled: false }, location: false },
      { consume: async () => {} },
      () => fakeBinding(),
    );
    await receiver.start();
    try {
      const now = Date.now();
      expect(receiver.healthy(now)).toBe(true);
      expect(receiver.healthy(now + 3 * config.collection_interval - 1000)).toBe(true);
      expect(receiver.healthy(now + 3 * config.collection_interval + 1000)).toMatch(
        /^last read the drop maps 3\d\.\ds ago, more than 3 collection intervals \(10s each\)$/,
      );
    } finally {
      await receiver.shutdown();
    }
    expect(receiver.healthy()).toBe('not started');
  });
});

describe('DropReasonReceiver samples (fake kernel)', () => {
  it('sends the samples the kernel took down the logs pipeline, one record each', async () => {
    const record = Buffer.alloc(80);
    record.writeUInt32LE(3, 20); // NO_SOCKET
    record.writeUInt8(1, 26); // ingress
    record.writeUInt8(2, 27); // AF_INET
    record.writeUInt8(17, 28);
    record.writeUInt32LE(42, 32);
    Buffer.from([10, 0, 0, 1]).copy(record, 48);
    Buffer.from([10, 0, 0, 2]).copy(record, 64);
    const binding = fakeBinding({ rings: { drop_samples: [record, Buffer.alloc(12)] } });
    const logs: ResourceLogs[] = [];
    const receiver = new DropReasonReceiver(
      settingsFor('receivers.dropreason'),
      { ...config, interfaces: { ...config.interfaces, enabled: false }, location: false },
      { consume: async () => {}, consumeLogs: async (l) => void logs.push(...l) },
      () => binding,
    );
    await receiver.start();
    try {
      await receiver.takeSamples();
    } finally {
      await receiver.shutdown();
    }
    const records = logs.flatMap((l) => l.scopeLogs.flatMap((s) => s.logRecords));
    expect(records).toHaveLength(1);
    expect(records[0]!.attributes).toMatchObject({
      'dropreason.direction': 'ingress',
      'source.address': '10.0.0.1',
      'destination.address': '10.0.0.2',
      'network.transport': 'udp',
      'dropreason.packet.length': 42,
    });
    expect(binding.objects[0]!.constants.get('samples_enabled')!.readUInt32LE()).toBe(1);
  });

  it('asks the kernel for no samples when no logs pipeline follows', async () => {
    const binding = fakeBinding();
    const receiver = new DropReasonReceiver(
      settingsFor('receivers.dropreason'),
      { ...config, interfaces: { ...config.interfaces, enabled: false }, location: false },
      { consume: async () => {} },
      () => binding,
    );
    await receiver.start();
    await receiver.shutdown();
    expect(binding.objects[0]!.constants.get('samples_enabled')!.readUInt32LE()).toBe(0);
  });
});

describe('DropReasonReceiver drop locations (fake kernel)', () => {
  const LOCATION = 0xffff_ffff_8100_0010n;
  const KALLSYMS = 'ffffffff81000000 T nf_hook_slow\n';

  /**
   * metrics_map holding one series, `drops.count` egress drops (100 bytes each) of kernel
   * reason 2 at LOCATION, or nothing while that is 0: the test makes drops by raising it.
   */
  function metricsMap(drops: { count: number }): MapDump | undefined {
    if (drops.count === 0) return undefined;
    const keys = Buffer.alloc(24);
    keys.writeUInt32LE(2, 0);
    keys.writeUInt16LE(2, 8);
    keys.writeBigUInt64LE(LOCATION, 16);
    const values = Buffer.alloc(16);
    values.writeBigUInt64LE(BigInt(drops.count), 0);
    values.writeBigUInt64LE(BigInt(drops.count * 100), 8);
    return { count: 1, keys, values, keySize: 24, valueSize: 16, valueStride: 16, perCpu: false };
  }

  /** A symbol list that is read only once `open()` is called: the slow /proc/kallsyms of an emulated machine. */
  function gatedSymbols() {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const symbols = new KernelSymbols(() =>
      kallsymsSource(async function* () {
        await gate;
        yield KALLSYMS;
      }),
    );
    return { symbols, open };
  }

  /** The drop.count points of a pushed batch, by their location attribute. */
  function counts(batch: ResourceMetrics[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const rm of batch)
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics) {
          if (m.descriptor.name !== DROP_COUNT) continue;
          for (const p of m.dataPoints) out[String(p.attributes['location'])] = p.value;
        }
    return out;
  }

  it('pushes a new location by its name, and the last push reads the maps after the stop', async () => {
    const { symbols, open } = gatedSymbols();
    const drops = { count: 0 };
    const pushed: ResourceMetrics[][] = [];
    const receiver = new DropReasonReceiver(
      settingsFor('receivers.dropreason'),
      { ...config, interfaces: { ...config.interfaces, enabled: false } },
      { consume: async (batch) => void pushed.push(batch) },
      () => fakeBinding({ read: (map) => (map === 'metrics_map' ? metricsMap(drops) : undefined) }),
      symbols,
    );
    await receiver.start();
    expect(counts(pushed.at(-1)!)).toEqual({});
    drops.count = 1;
    const collecting = receiver.collect(); // reads 1 drop, then waits for the symbol list
    drops.count = 61; // more drops before the stop
    const stopped = receiver.shutdown();
    open();
    await Promise.all([collecting, stopped]);
    // The collection in flight pushes what it read; the last push, what the maps hold at the stop.
    expect(pushed.slice(1).map(counts)).toEqual([{ nf_hook_slow: 1 }, { nf_hook_slow: 61 }]);
    expect(symbols.readCount).toBe(1);
  });
});
