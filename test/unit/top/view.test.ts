import { describe, expect, it } from 'vitest';

import type { Snapshot } from '../../../src/top/snapshot.js';
import { buildView, rate } from '../../../src/top/view.js';

const drop = (reason: string, direction: string, packets: number, bytes = packets * 100) => ({
  reason,
  direction,
  packets,
  bytes,
});

describe('rate', () => {
  it('is the increase per second', () => {
    expect(rate(150, 100, 2)).toBe(25);
  });
  it('counts a counter that went down (a restarted agent) from zero', () => {
    expect(rate(30, 100, 2)).toBe(15);
  });
  it('counts a series not seen before from zero', () => {
    expect(rate(8, undefined, 2)).toBe(4);
  });
});

describe('buildView', () => {
  const first: Snapshot = {
    at: 10_000,
    drops: [drop('NO_SOCKET', 'ingress', 500), drop('IPTABLE_RULE_DROP', 'egress', 100)],
    pods: [{ pod: 'shop/web-1', ...drop('NO_SOCKET', 'ingress', 500) }],
  };

  it('has no rates on the first snapshot, and sorts by packets', () => {
    const v = buildView(first, undefined);
    expect(v.drops.map((r) => [r.reason, r.rate])).toEqual([
      ['NO_SOCKET', undefined],
      ['IPTABLE_RULE_DROP', undefined],
    ]);
    expect(v.total).toEqual({ packets: 600, bytes: 60_000, rate: undefined });
  });

  it('sorts the fastest first, then by packets, then by name', () => {
    const second: Snapshot = {
      at: 12_000,
      drops: [
        drop('NO_SOCKET', 'ingress', 510),
        drop('IPTABLE_RULE_DROP', 'egress', 300),
        drop('TCP_CLOSE_BASIC', 'egress', 20),
        drop('QUEUE_PURGE', 'ingress', 7),
        drop('NO_SOCKET', 'egress', 7),
      ],
      pods: [
        { pod: 'shop/web-1', ...drop('NO_SOCKET', 'ingress', 510) },
        { pod: '10.0.0.12', ...drop('NO_SOCKET', 'ingress', 40) },
      ],
    };
    const v = buildView(second, first);
    expect(v.drops.map((r) => [r.reason, r.direction, r.rate])).toEqual([
      ['IPTABLE_RULE_DROP', 'egress', 100],
      ['TCP_CLOSE_BASIC', 'egress', 10],
      ['NO_SOCKET', 'ingress', 5],
      ['NO_SOCKET', 'egress', 3.5],
      ['QUEUE_PURGE', 'ingress', 3.5],
    ]);
    expect(v.pods.map((r) => [r.pod, r.rate])).toEqual([
      ['10.0.0.12', 20],
      ['shop/web-1', 5],
    ]);
    expect(v.total).toEqual({ packets: 844, bytes: 84_400, rate: 122 });
    expect(v.at).toBe(12_000);
  });

  it('keeps rows the same snapshot produced in a stable order', () => {
    const same = { ...first, at: 11_000 };
    expect(buildView(same, first).drops.map((r) => [r.reason, r.rate])).toEqual([
      ['NO_SOCKET', 0],
      ['IPTABLE_RULE_DROP', 0],
    ]);
  });
});
