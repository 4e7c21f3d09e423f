import { describe, expect, it } from 'vitest';

import {
  type DropRow,
  dropRows,
  formatBytes,
  formatDataPoints,
  formatTable,
  withRates,
} from '../../../../src/exporters/debug/format.js';
import { collect, dropCounters } from '../../support.js';

const AT = new Date('2025-01-02T03:04:05.000Z');

describe('dropRows', () => {
  it('pairs packets and bytes that share reason and direction, most packets first', async () => {
    const rm = await collect([
      ...dropCounters([
        ['NO_SOCKET', 'ingress', 5, 300],
        ['IPTABLE_RULE_DROP', 'egress', 40, 2400],
        ['NO_SOCKET', 'egress', 5, 200],
      ]),
      { name: 'process.cpu.time', kind: 'counter', observations: [{ value: 99, attributes: { reason: 'X' } }] },
    ]);
    expect(dropRows([rm])).toEqual([
      { reason: 'IPTABLE_RULE_DROP', direction: 'egress', packets: 40, bytes: 2400 },
      { reason: 'NO_SOCKET', direction: 'ingress', packets: 5, bytes: 300 },
      { reason: 'NO_SOCKET', direction: 'egress', packets: 5, bytes: 200 },
    ]);
  });

  it('keeps a series that has only packets', async () => {
    const rm = await collect([dropCounters([['OTHER', 'unknown', 3, 0]])[0]!]);
    expect(dropRows([rm])).toEqual([{ reason: 'OTHER', direction: 'unknown', packets: 3, bytes: 0 }]);
  });

  it('is empty for no metrics', () => {
    expect(dropRows([])).toEqual([]);
  });
});

describe('withRates', () => {
  const now: DropRow[] = [
    { reason: 'A', direction: 'ingress', packets: 1200, bytes: 0 },
    { reason: 'B', direction: 'egress', packets: 7, bytes: 0 },
    { reason: 'C', direction: 'ingress', packets: 3, bytes: 0 },
    { reason: 'A', direction: 'egress', packets: 10, bytes: 0 },
  ];
  const before: DropRow[] = [
    { reason: 'A', direction: 'ingress', packets: 1075, bytes: 0 },
    { reason: 'C', direction: 'ingress', packets: 5, bytes: 0 },
    { reason: 'A', direction: 'egress', packets: 10, bytes: 0 },
  ];

  it('divides the packets since the previous push by the seconds between them', () => {
    expect(withRates(now, before, 10).map((r) => [r.reason, r.direction, r.rate])).toEqual([
      ['A', 'ingress', 12.5],
      ['B', 'egress', 0.7], // new series: everything counted since the previous push
      ['C', 'ingress', 0], // counter went down (reset): no negative rate
      ['A', 'egress', 0],
    ]);
  });

  it('leaves the rate out on the first push or without elapsed time', () => {
    expect(withRates(now, undefined, 10).every((r) => r.rate === undefined)).toBe(true);
    expect(withRates(now, before, 0).every((r) => r.rate === undefined)).toBe(true);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1024 * 1024 - 1, '1024.0 KiB'],
    [1024 * 1024, '1.0 MiB'],
    [5 * 1024 ** 3 + 512 * 1024 ** 2, '5.5 GiB'],
    [3 * 1024 ** 4, '3.0 TiB'],
    [1024 ** 5, '1024.0 TiB'],
  ])('writes %d as %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});

describe('formatTable', () => {
  it('aligns text left and numbers right under a title with the totals', () => {
    const rows: DropRow[] = [
      { reason: 'NO_SOCKET', direction: 'ingress', packets: 1200, bytes: 1536, rate: 12.5 },
      { reason: 'IPTABLE_RULE_DROP', direction: 'egress', packets: 7, bytes: 420 },
    ];
    expect(formatTable(rows, AT)).toBe(
      [
        'drops at 2025-01-02T03:04:05.000Z: 1207 packets in 2 series',
        'REASON             DIRECTION  PACKETS    BYTES    RATE',
        'NO_SOCKET          ingress       1200  1.5 KiB  12.5/s',
        'IPTABLE_RULE_DROP  egress           7    420 B       -',
        '',
      ].join('\n'),
    );
  });

  it('widens the number columns for wide values', () => {
    const rows: DropRow[] = [
      { reason: 'X', direction: 'unknown', packets: 123456789, bytes: 3 * 1024 ** 4, rate: 1234.56 },
    ];
    expect(formatTable(rows, AT)).toBe(
      [
        'drops at 2025-01-02T03:04:05.000Z: 123456789 packets in 1 series',
        'REASON  DIRECTION    PACKETS    BYTES      RATE',
        'X       unknown    123456789  3.0 TiB  1234.6/s',
        '',
      ].join('\n'),
    );
  });

  it('is only the title when nothing was dropped', () => {
    expect(formatTable([], AT)).toBe('drops at 2025-01-02T03:04:05.000Z: 0 packets in 0 series\n');
  });
});

describe('formatDataPoints', () => {
  it('writes the resource, then one line per data point with attributes and unit', async () => {
    const rm = await collect(dropCounters([['NO_SOCKET', 'ingress', 2, 120]]));
    const text = formatDataPoints([rm]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^resource .*service\.name=dropreason-test/);
    expect(lines.slice(1)).toEqual([
      '  dropreason.drop.count {reason=NO_SOCKET direction=ingress} 2 {packet}',
      '  dropreason.drop.bytes {reason=NO_SOCKET direction=ingress} 120 By',
      '',
    ]);
  });
});
