/** Samples of drops: their decoding from struct drop_sample bytes, the budget, and their log records. */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';

import { formatLogLines } from '../../../../src/exporters/debug/format.js';
import { DROP_SAMPLE_SIZE, decodeSample, type DropSample } from '../../../../src/receiver/dropreason/abi.js';
import { DropProgram } from '../../../../src/receiver/dropreason/drop_program.js';
import { ReasonNames } from '../../../../src/receiver/dropreason/reasons.js';
import {
  KernelClock,
  SampleBudget,
  sampleLogs,
  sampleRecord,
  slotReason,
} from '../../../../src/receiver/dropreason/samples.js';
import { type FakeKernel, fakeBinding } from '../../fake_binding.js';
import { recordingLogger } from '../../support.js';

/** A struct drop_sample as the kernel writes it (little-endian, offsets of bpf/dropreason.h). */
function sampleBytes(f: {
  timestamp: bigint;
  location: bigint;
  epoch: number;
  reason: number;
  origin: number;
  direction: number;
  family: number;
  protocol: number;
  len: number;
  ifindex: number;
  netns: number;
  sport: number;
  dport: number;
  saddr: number[];
  daddr: number[];
}): Buffer {
  const b = Buffer.alloc(DROP_SAMPLE_SIZE);
  b.writeBigUInt64LE(f.timestamp, 0);
  b.writeBigUInt64LE(f.location, 8);
  b.writeUInt32LE(f.epoch, 16);
  b.writeUInt32LE(f.reason, 20);
  b.writeUInt16LE(f.origin, 24);
  b.writeUInt8(f.direction, 26);
  b.writeUInt8(f.family, 27);
  b.writeUInt8(f.protocol, 28);
  b.writeUInt32LE(f.len, 32);
  b.writeUInt32LE(f.ifindex, 36);
  b.writeUInt32LE(f.netns, 40);
  b.writeUInt16LE(f.sport, 44);
  b.writeUInt16LE(f.dport, 46);
  Buffer.from(f.saddr).copy(b, 48);
  Buffer.from(f.daddr).copy(b, 64);
  return b;
}

const V4 = {
  timestamp: 5_000_000_123n,
  location: 0xffffffff81a0b0c4n,
  epoch: 7,
  reason: 2,
  origin: 0,
  direction: 1,
  family: 2,
  protocol: 17,
  len: 129,
  ifindex: 3,
  netns: 4026532000,
  sport: 40000,
  dport: 7777,
  saddr: [198, 18, 0, 1],
  daddr: [198, 18, 0, 2],
};

const names = new ReasonNames([
  ['SKB_DROP_REASON_NOT_SPECIFIED', 2],
  ['SKB_DROP_REASON_NO_SOCKET', 3],
]);

describe('decodeSample', () => {
  it('reads an IPv4 UDP sample laid out as struct drop_sample', () => {
    expect(decodeSample(sampleBytes(V4))).toEqual({
      timestamp: 5_000_000_123n,
      location: 0xffffffff81a0b0c4n,
      epoch: 7,
      reason: 2,
      origin: 0,
      direction: 1,
      family: 4,
      protocol: 17,
      length: 129,
      ifindex: 3,
      netns: 4026532000,
      sourceAddress: '198.18.0.1',
      destinationAddress: '198.18.0.2',
      sourcePort: 40000,
      destinationPort: 7777,
    } satisfies DropSample);
  });

  it('reads IPv6 addresses in their canonical text form', () => {
    const s = decodeSample(
      sampleBytes({
        ...V4,
        family: 10,
        saddr: [0x20, 0x01, 0x0d, 0xb8, 0, 0x2a, ...Array(9).fill(0), 1],
        daddr: [0x20, 0x01, 0x0d, 0xb8, 0, 0x2a, ...Array(9).fill(0), 2],
      }),
    );
    expect(s).toMatchObject({ family: 6, sourceAddress: '2001:db8:2a::1', destinationAddress: '2001:db8:2a::2' });
  });

  it('leaves addresses empty when the packet held no IP header', () => {
    expect(decodeSample(sampleBytes({ ...V4, family: 0 }))).toMatchObject({
      family: 0,
      sourceAddress: '',
      destinationAddress: '',
    });
  });

  it('refuses a record of another size', () => {
    expect(() => decodeSample(Buffer.alloc(64))).toThrow('a drop sample of 64 bytes; this build expects 80');
  });
});

describe('SampleBudget', () => {
  it('keeps at most the limits per epoch, in all and per reason', () => {
    const budget = new SampleBudget(3, 2);
    const take = (epoch: number, reason: number) => budget.admit({ epoch, reason, origin: 0 });
    expect([take(1, 2), take(1, 2), take(1, 2), take(1, 3), take(1, 3)]).toEqual([true, true, false, true, false]);
    expect([take(2, 2), take(2, 3)]).toEqual([true, true]);
  });

  it('names the reason of a budget slot', () => {
    expect(slotReason(3, names)).toBe('NO_SOCKET');
    expect(slotReason(256 + 2, names)).toBe('IPTABLE_NAT_DROP');
    expect(slotReason(511, names)).toBe('OTHER');
  });
});

describe('sample log records', () => {
  const clock = new KernelClock(1_700_000_000_000, 1_000_000_000n);
  const sample = decodeSample(sampleBytes(V4));
  const record = sampleRecord(
    sample,
    { reason: 'UNKNOWN_DROP', location: 'nf_hook_slow', interfaceName: 'veth1' },
    clock,
    [1_700_000_010, 0],
  );

  it('carries the semantic-convention attributes and the kernel timestamp on the wall clock', () => {
    expect(record.attributes).toEqual({
      'dropreason.reason': 'UNKNOWN_DROP',
      'dropreason.direction': 'ingress',
      'dropreason.location': 'nf_hook_slow',
      'dropreason.packet.length': 129,
      'network.type': 'ipv4',
      'network.transport': 'udp',
      'source.address': '198.18.0.1',
      'source.port': 40000,
      'destination.address': '198.18.0.2',
      'destination.port': 7777,
      'network.interface.name': 'veth1',
      'dropreason.interface.index': 3,
      'dropreason.netns.inode': 4026532000,
    });
    // 5.000000123 s of CLOCK_MONOTONIC, 1 s after the offset was measured at 1_700_000_000 s.
    expect(record.hrTime).toEqual([1_700_000_004, 123]);
  });

  it('prints one readable line per sample in the debug exporter', () => {
    const logs = sampleLogs([{ sample, record }], resourceFromAttributes({ 'host.name': 'n1' }), false);
    expect(formatLogLines(logs, false)).toBe(
      '2023-11-14T22:13:24.000Z drop UNKNOWN_DROP ingress udp 198.18.0.1:40000 -> 198.18.0.2:7777 len=129 dev=veth1 netns=4026532000 at nf_hook_slow\n',
    );
  });

  it('names the device by index when it is in another network namespace, and shows IPv6 ports in brackets', () => {
    const v6 = { ...sample, family: 6 as const, sourceAddress: '2001:db8::1', destinationAddress: '2001:db8::2' };
    const r = sampleRecord(v6, { reason: 'NO_SOCKET', location: 'x', interfaceName: undefined }, clock, [0, 0]);
    expect(r.body).toBe(
      'drop NO_SOCKET ingress udp [2001:db8::1]:40000 -> [2001:db8::2]:7777 len=129 dev=#3 netns=4026532000 at x',
    );
    expect(r.attributes['network.interface.name']).toBeUndefined();
    expect(r.attributes['network.type']).toBe('ipv6');
  });

  it('groups samples by local address (k8s.pod.ip) in advanced mode', () => {
    const egress = { ...sample, direction: 2 };
    const logs = sampleLogs(
      [
        { sample, record },
        { sample: egress, record },
      ],
      resourceFromAttributes({ 'host.name': 'n1' }),
      true,
    );
    expect(logs.map((l) => l.resource.attributes['k8s.pod.ip'])).toEqual(['198.18.0.2', '198.18.0.1']);
    expect(logs.every((l) => l.resource.attributes['host.name'] === 'n1')).toBe(true);
  });
});

describe('DropProgram samples', () => {
  const opts = { hook: 'auto' as const, functionHooks: 'none' as const };

  /** Loads the program on a fake `kernel`, asking for 10 samples a second and 4 a reason. */
  async function loadSampling(kernel?: FakeKernel) {
    const binding = fakeBinding(kernel);
    const samples = { perSecond: 10, perReason: 4 };
    const program = await DropProgram.load(binding, '/fake.o', { ...opts, samples }, recordingLogger().logger);
    return { program, main: binding.objects[0]! };
  }

  it('takes samples with the limits set as constants when asked and the kernel has a ring buffer', async () => {
    const { program, main } = await loadSampling();
    expect(program.samples).toBe('on');
    expect(main.constants.get('samples_enabled')!.readUInt32LE()).toBe(1);
    expect(main.constants.get('sample_limit')!.readUInt32LE()).toBe(10);
    expect(main.constants.get('sample_reason_limit')!.readUInt32LE()).toBe(4);
    expect(main.redefined.size).toBe(0);
    program.close();
  });

  it('takes none, with no ring buffer made, on a kernel without one, and says why', async () => {
    const { program, main } = await loadSampling({ unsupportedMapTypes: ['ringbuf'] });
    expect(program.samples).toBe('this kernel has no BPF ring buffer (Linux 5.8 and later have one)');
    expect(main.constants.get('samples_enabled')!.readUInt32LE()).toBe(0);
    expect(main.redefined.get('drop_samples')).toEqual(['array', 4, 4, 1]);
    expect(main.attached).toEqual(['dr_kfree_skb_btf']);
    program.close();
  });

  it('makes no ring buffer when no samples are asked for', async () => {
    const binding = fakeBinding();
    const program = await DropProgram.load(binding, '/fake.o', opts, recordingLogger().logger);
    expect(program.samples).toBe('off');
    expect(binding.objects[0]!.redefined.get('drop_samples')).toEqual(['array', 4, 4, 1]);
    program.close();
  });
});
