import { describe, expect, it } from 'vitest';

import { PodCache } from '../../../../src/processors/k8sattributes/pod_cache.js';
import type { PodRecord } from '../../../../src/processors/k8sattributes/records.js';

function record(name: string, ips: string[], extra: Partial<PodRecord> = {}): PodRecord {
  return {
    metadata: { name, namespace: 'default', resourceVersion: '1' },
    uid: `uid-${name}`,
    startTime: '',
    hostname: '',
    ips,
    node: 'node-a',
    owner: undefined,
    templateHash: undefined,
    labels: undefined,
    annotations: undefined,
    hostNetwork: false,
    terminated: false,
    ...extra,
  };
}

function cache(graceMs = 10_000) {
  const clock = { now: 0 };
  return { clock, cache: new PodCache(graceMs, () => clock.now) };
}

describe('PodCache', () => {
  it('finds a pod by each of its addresses, and follows a change of address', () => {
    const { cache: c } = cache();
    c.upsert(record('a', ['10.0.0.1', 'fd00::1']));
    expect(c.get('10.0.0.1')?.metadata.name).toBe('a');
    expect(c.get('fd00::1')?.metadata.name).toBe('a');
    c.upsert(record('a', ['10.0.0.2']));
    expect(c.get('10.0.0.1')).toBeUndefined();
    expect(c.get('fd00::1')).toBeUndefined();
    expect(c.get('10.0.0.2')?.metadata.name).toBe('a');
    expect(c.size).toBe(1);
  });

  it('keeps a deleted pod for the grace period, then forgets it', () => {
    const { cache: c, clock } = cache(10_000);
    c.upsert(record('a', ['10.0.0.1']));
    clock.now = 5_000;
    c.delete(record('a', ['10.0.0.1']));
    expect(c.get('10.0.0.1')?.deletedAt).toBe(5_000);
    clock.now = 14_999;
    expect(c.sweep()).toBe(0);
    expect(c.get('10.0.0.1')).toBeDefined();
    clock.now = 15_000;
    expect(c.sweep()).toBe(1);
    expect(c.get('10.0.0.1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('forgets at once with a grace period of 0, and ignores deletes of unknown or already deleted pods', () => {
    const { cache: c } = cache(0);
    c.upsert(record('a', ['10.0.0.1']));
    c.delete(record('b', ['10.0.0.2']));
    c.delete(record('a', ['10.0.0.1']));
    c.delete(record('a', ['10.0.0.1']));
    expect(c.get('10.0.0.1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('gives an address to the new pod at once; the old pod’s expiry does not take it away', () => {
    const { cache: c, clock } = cache(10_000);
    c.upsert(record('old', ['10.0.0.1']));
    c.delete(record('old', ['10.0.0.1']));
    c.upsert(record('new', ['10.0.0.1']));
    expect(c.get('10.0.0.1')?.metadata.name).toBe('new');
    clock.now = 20_000;
    c.sweep();
    expect(c.get('10.0.0.1')?.metadata.name).toBe('new');
    expect(c.size).toBe(1);
  });

  it('does not let a finished pod take a running pod’s address, but a running pod takes a finished one’s', () => {
    const { cache: c } = cache();
    c.upsert(record('running', ['10.0.0.1']));
    c.upsert(record('done', ['10.0.0.1'], { terminated: true }));
    expect(c.get('10.0.0.1')?.metadata.name).toBe('running');
    c.upsert(record('done2', ['10.0.0.2'], { terminated: true }));
    c.upsert(record('next', ['10.0.0.2']));
    expect(c.get('10.0.0.2')?.metadata.name).toBe('next');
  });

  it('keeps a pod that came back after its delete (a relist found it again)', () => {
    const { cache: c, clock } = cache(10_000);
    c.upsert(record('a', ['10.0.0.1']));
    c.delete(record('a', ['10.0.0.1']));
    c.upsert(record('a', ['10.0.0.1']));
    clock.now = 20_000;
    c.sweep();
    expect(c.get('10.0.0.1')?.deletedAt).toBeUndefined();
    expect(c.size).toBe(1);
  });

  it('forgets many deleted pods in order, and stays usable after', () => {
    const { cache: c, clock } = cache(1_000);
    for (let i = 0; i < 3_000; i++) c.upsert(record(`p${i}`, [`10.1.${i >> 8}.${i & 255}`]));
    for (let i = 0; i < 3_000; i++) {
      clock.now = i;
      c.delete(record(`p${i}`, []));
    }
    clock.now = 2_499;
    expect(c.sweep()).toBe(1_500);
    expect(c.size).toBe(1_500);
    clock.now = 10_000;
    expect(c.sweep()).toBe(1_500);
    c.upsert(record('z', ['10.9.0.1']));
    expect(c.get('10.9.0.1')?.metadata.name).toBe('z');
    expect(c.size).toBe(1);
  });
});
