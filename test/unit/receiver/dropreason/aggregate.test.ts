import { describe, expect, it } from 'vitest';

import { aggregateDrops } from '../../../../src/receiver/dropreason/aggregate.js';
import type { DropCounter } from '../../../../src/receiver/dropreason/abi.js';
import { ReasonNames } from '../../../../src/receiver/dropreason/reasons.js';

const names = new ReasonNames([
  ['SKB_DROP_REASON_NOT_SPECIFIED', 2],
  ['SKB_DROP_REASON_NO_SOCKET', 3],
  ['SKB_DROP_REASON_SOCKET_RCVBUFF', 6],
  ['SKB_DROP_REASON_NETFILTER_DROP', 12],
]);
const KERNEL = 0;
const HOOK = 1;
const [UNKNOWN, INGRESS, EGRESS] = [0, 1, 2];

const counter = (
  origin: number,
  reason: number,
  returnValue: number,
  direction: number,
  count: number,
  bytes: number,
  location = 0n,
): DropCounter => ({ origin, reason, returnValue, direction, location, count, bytes });

describe('aggregateDrops', () => {
  it('adds up entries that differ only by return value, per direction', () => {
    const totals = aggregateDrops(
      {
        counters: [
          counter(HOOK, 2, 0, EGRESS, 2, 120), // IPTABLE_NAT_DROP
          counter(HOOK, 2, -1, EGRESS, 3, 180),
          counter(HOOK, 2, 7, EGRESS, 1, 60),
          counter(KERNEL, 3, 0, INGRESS, 10, 600),
          counter(KERNEL, 3, 0, EGRESS, 1, 40),
        ],
        overflow: [],
      },
      names,
      new Set(),
    );
    expect(totals).toEqual([
      { reason: 'IPTABLE_NAT_DROP', direction: 'egress', count: 6, bytes: 360 },
      { reason: 'NO_SOCKET', direction: 'egress', count: 1, bytes: 40 },
      { reason: 'NO_SOCKET', direction: 'ingress', count: 10, bytes: 600 },
    ]);
  });

  it('keeps drop locations apart by function name, adding addresses that share one', () => {
    const fn = (a: bigint) => (a === 0n ? '' : a < 0x2000n ? 'nft_do_chain' : '__udp4_lib_rcv');
    const totals = aggregateDrops(
      {
        counters: [
          counter(KERNEL, 3, 0, INGRESS, 1, 10, 0x1010n),
          counter(KERNEL, 3, 0, INGRESS, 2, 20, 0x1020n),
          counter(KERNEL, 3, 0, INGRESS, 4, 40, 0x3000n),
          counter(HOOK, 4, -111, EGRESS, 1, 0), // a failed connect has no location
        ],
        overflow: [{ direction: INGRESS, count: 5, bytes: 50 }],
      },
      names,
      new Set(),
      fn,
    );
    expect(totals).toEqual([
      { reason: 'NO_SOCKET', direction: 'ingress', location: '__udp4_lib_rcv', count: 4, bytes: 40 },
      { reason: 'NO_SOCKET', direction: 'ingress', location: 'nft_do_chain', count: 3, bytes: 30 },
      { reason: 'OTHER', direction: 'ingress', count: 5, bytes: 50 },
      { reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'ECONNREFUSED', count: 1, bytes: 0 },
    ]);
  });

  it('keeps the errno of failed connects and accepts as the error attribute', () => {
    const totals = aggregateDrops(
      {
        counters: [
          counter(HOOK, 4, -111, EGRESS, 2, 0), // TCP_CONNECT_BASIC, ECONNREFUSED
          counter(HOOK, 4, -101, EGRESS, 3, 0), // TCP_CONNECT_BASIC, ENETUNREACH
          counter(HOOK, 5, -22, INGRESS, 1, 0), // TCP_ACCEPT_BASIC, EINVAL
        ],
        overflow: [],
      },
      names,
      new Set(),
    );
    expect(totals).toEqual([
      { reason: 'TCP_ACCEPT_BASIC', direction: 'ingress', error: 'EINVAL', count: 1, bytes: 0 },
      { reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'ECONNREFUSED', count: 2, bytes: 0 },
      { reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'ENETUNREACH', count: 3, bytes: 0 },
    ]);
  });

  it('adds up different raw codes that share a name', () => {
    const totals = aggregateDrops(
      { counters: [counter(KERNEL, 12, 0, EGRESS, 7, 420), counter(HOOK, 1, 0, EGRESS, 1, 60)], overflow: [] },
      names,
      new Set(),
    );
    expect(totals).toEqual([{ reason: 'IPTABLE_RULE_DROP', direction: 'egress', count: 8, bytes: 480 }]);
  });

  it('leaves out excluded reasons by their reported name', () => {
    const totals = aggregateDrops(
      {
        counters: [
          counter(KERNEL, 6, 0, INGRESS, 99, 9900),
          counter(KERNEL, 12, 0, INGRESS, 5, 300), // reported as IPTABLE_RULE_DROP
          counter(KERNEL, 3, 0, INGRESS, 1, 60),
        ],
        overflow: [{ direction: INGRESS, count: 4, bytes: 240 }],
      },
      names,
      new Set(['SOCKET_RCVBUFF', 'IPTABLE_RULE_DROP', 'NETFILTER_DROP']),
    );
    expect(totals).toEqual([
      { reason: 'NO_SOCKET', direction: 'ingress', count: 1, bytes: 60 },
      { reason: 'OTHER', direction: 'ingress', count: 4, bytes: 240 },
    ]);
  });

  it('counts overflow as OTHER, and OTHER can be excluded too', () => {
    const snapshot = {
      counters: [counter(KERNEL, 2, 0, 9, 1, 50)], // a direction value outside the enum
      overflow: [
        { direction: UNKNOWN, count: 1, bytes: 50 },
        { direction: EGRESS, count: 3, bytes: 3000 },
      ],
    };
    expect(aggregateDrops(snapshot, names, new Set())).toEqual([
      { reason: 'OTHER', direction: 'egress', count: 3, bytes: 3000 },
      { reason: 'OTHER', direction: 'unknown', count: 1, bytes: 50 },
      { reason: 'UNKNOWN_DROP', direction: 'unknown', count: 1, bytes: 50 },
    ]);
    expect(aggregateDrops(snapshot, names, new Set(['OTHER']))).toEqual([
      { reason: 'UNKNOWN_DROP', direction: 'unknown', count: 1, bytes: 50 },
    ]);
  });

  it('returns nothing for an empty map', () => {
    expect(aggregateDrops({ counters: [], overflow: [] }, names, new Set())).toEqual([]);
  });
});
