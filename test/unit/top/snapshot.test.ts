import { describe, expect, it } from 'vitest';

import { NO_ADDRESS, podName, snapshotFromMetrics } from '../../../src/top/snapshot.js';
import { advancedPush, resourceMetrics, sum } from './fixtures.js';

describe('snapshotFromMetrics', () => {
  it('sums node series by reason and direction, over the error attribute', () => {
    const s = snapshotFromMetrics(advancedPush(), 0);
    expect(s.drops).toEqual([
      { reason: 'NO_SOCKET', direction: 'ingress', packets: 42, bytes: 2520 },
      { reason: 'TCP_CONNECT_BASIC', direction: 'egress', packets: 5, bytes: 0 },
    ]);
  });

  it('names pod series after their resource: namespace/name, else the address, else none', () => {
    const s = snapshotFromMetrics(advancedPush(), 0);
    expect(s.pods).toEqual([
      { pod: 'shop/web-1', reason: 'NO_SOCKET', direction: 'ingress', packets: 40, bytes: 2400 },
      { pod: '10.0.0.12', reason: 'NO_SOCKET', direction: 'ingress', packets: 2, bytes: 120 },
      { pod: NO_ADDRESS, reason: 'OTHER', direction: 'unknown', packets: 5, bytes: 0 },
    ]);
  });

  it('is dated by its data points, else by the time given', () => {
    expect(snapshotFromMetrics(advancedPush(1_234_567), 5).at).toBe(1_234_567);
    expect(snapshotFromMetrics([resourceMetrics({}, [sum('dropreason.drop.count', [])])], 5).at).toBe(5);
  });

  it('ignores metrics that are not drop counts', () => {
    const s = snapshotFromMetrics([resourceMetrics({}, [sum('dropreason.agent.collections', [[{}, 3]])])], 5);
    expect(s).toEqual({ at: 5, drops: [], pods: [] });
  });
});

describe('podName', () => {
  it('prefers namespace/name, then name, then address', () => {
    expect(podName('ns', 'p', '10.0.0.1')).toBe('ns/p');
    expect(podName(undefined, 'p', '10.0.0.1')).toBe('p');
    expect(podName('', '', '10.0.0.1')).toBe('10.0.0.1');
    expect(podName(undefined, undefined, undefined)).toBe(NO_ADDRESS);
  });
});
