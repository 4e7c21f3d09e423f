import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';

import { type FlowCounter, formatIPv6 } from '../../../../src/receiver/dropreason/abi.js';
import { FlowTable } from '../../../../src/receiver/dropreason/flows.js';
import { ReasonNames } from '../../../../src/receiver/dropreason/reasons.js';

const names = new ReasonNames([
  ['SKB_DROP_REASON_NO_SOCKET', 3],
  ['SKB_DROP_REASON_NETFILTER_DROP', 12],
]);
const base = resourceFromAttributes({ 'service.name': 'dropreason' });

function flow(over: Partial<FlowCounter>): FlowCounter {
  return {
    reason: 12,
    origin: 0,
    direction: 2,
    family: 4,
    protocol: 17,
    localAddress: '10.0.0.1',
    remoteAddress: '10.0.0.2',
    remotePort: 53,
    location: 0n,
    count: 1,
    bytes: 100,
    ...over,
  };
}

function points(table: FlowTable, now: number) {
  return table.resourceMetrics(base, now).flatMap((rm) =>
    rm.scopeMetrics[0]!.metrics[0]!.dataPoints.map((dp) => ({
      ip: rm.resource.attributes['k8s.pod.ip'],
      ...dp.attributes,
      value: dp.value,
      start: dp.startTime[0],
    })),
  );
}

describe('formatIPv6', () => {
  it('writes the longest zero run as ::', () => {
    expect(formatIPv6(Buffer.from('20010db8000000000000000000000001', 'hex'))).toBe('2001:db8::1');
    expect(formatIPv6(Buffer.from('00000000000000000000000000000000', 'hex'))).toBe('::');
    expect(formatIPv6(Buffer.from('fe800000000000000202b3fffe1e8329', 'hex'))).toBe('fe80::202:b3ff:fe1e:8329');
    expect(formatIPv6(Buffer.from('20010db8000100000001000000000001', 'hex'))).toBe('2001:db8:1:0:1::1');
  });
});

describe('FlowTable', () => {
  it('adds each read to cumulative series per local address, with the chosen peer attributes', () => {
    const table = new FlowTable(names, { peerAttributes: ['address', 'transport'], ttlMs: 60_000, exclude: new Set() });
    table.add([flow({ count: 2 }), flow({ remotePort: 54, count: 3 }), flow({ localAddress: '10.0.0.9' })], [], 1000);
    table.add([flow({ count: 4 })], [], 2000);
    expect(points(table, 3000)).toEqual([
      {
        ip: '10.0.0.1',
        reason: 'IPTABLE_RULE_DROP',
        direction: 'egress',
        'peer.address': '10.0.0.2',
        'network.transport': 'udp',
        value: 9, // ports are not chosen, so both ports share one series: 2 + 3 + 4
        start: 1,
      },
      {
        ip: '10.0.0.9',
        reason: 'IPTABLE_RULE_DROP',
        direction: 'egress',
        'peer.address': '10.0.0.2',
        'network.transport': 'udp',
        value: 1,
        start: 1,
      },
    ]);
  });

  it('splits a pod series by the function name of its drop location', () => {
    const table = new FlowTable(names, { peerAttributes: [], ttlMs: 60_000, exclude: new Set() });
    const fn = (a: bigint) => (a === 0x10n || a === 0x11n ? 'nft_do_chain' : a ? '__udp4_lib_rcv' : '');
    table.add(
      [flow({ location: 0x10n }), flow({ location: 0x11n, count: 2 }), flow({ location: 0x20n })],
      [],
      1000,
      fn,
    );
    expect(points(table, 2000).map((p) => [(p as Record<string, unknown>)['location'], p.value])).toEqual([
      ['nft_do_chain', 3],
      ['__udp4_lib_rcv', 1],
    ]);
  });

  it('puts drops without an IP header and the kernel map overflow on the node resource', () => {
    const table = new FlowTable(names, { peerAttributes: ['address'], ttlMs: 60_000, exclude: new Set() });
    table.add(
      [flow({ family: 0, localAddress: '', remoteAddress: '', reason: 3, direction: 1 })],
      [{ direction: 1, count: 5, bytes: 50 }],
      0,
    );
    table.add([], [{ direction: 1, count: 7, bytes: 70 }], 1000); // cumulative in the kernel
    expect(points(table, 1000)).toEqual([
      { ip: undefined, reason: 'NO_SOCKET', direction: 'ingress', value: 1, start: 0 },
      { ip: undefined, reason: 'OTHER', direction: 'ingress', value: 7, start: 0 },
    ]);
  });

  it('drops series idle for longer than the TTL, and excluded reasons', () => {
    const table = new FlowTable(names, { peerAttributes: [], ttlMs: 10_000, exclude: new Set(['NO_SOCKET']) });
    table.add([flow({}), flow({ localAddress: '10.0.0.7' }), flow({ reason: 3 })], [], 0);
    table.add([flow({ localAddress: '10.0.0.7' })], [], 8000);
    expect(points(table, 15_000).map((p) => p.ip)).toEqual(['10.0.0.7']);
    expect(table.size).toBe(1);
  });
});
