import { describe, expect, it } from 'vitest';

import { render } from '../../../src/top/render.js';
import type { Row, View } from '../../../src/top/view.js';

const row = (reason: string, direction: string, packets: number, bytes: number, rate?: number): Row => ({
  reason,
  direction,
  packets,
  bytes,
  rate,
});

const view: View = {
  at: Date.parse('2026-11-26T01:02:03.456Z'),
  drops: [row('IPTABLE_RULE_DROP', 'egress', 137, 17_536, 68.5), row('NO_SOCKET', 'ingress', 2, 64, 0)],
  pods: [
    { ...row('IPTABLE_RULE_DROP', 'egress', 137, 17_536, 68.5), pod: 'shop/web-1' },
    { ...row('NO_SOCKET', 'ingress', 2, 64, 0), pod: '198.18.0.2' },
  ],
  total: { packets: 139, bytes: 17_600, rate: 68.5 },
};

const base = { source: 'drops on this node', intervalMs: 1000, advanced: false };

describe('render', () => {
  it('shows the totals and the reason table', () => {
    expect(render(view, base)).toEqual([
      'dropreason top: drops on this node, every 1s, 2026-11-26T01:02:03Z',
      'dropped: 139 packets, 17.2 KiB in total; 68.5 packets/s now',
      '',
      'REASON             DIRECTION  RATE/s  PACKETS     BYTES',
      'IPTABLE_RULE_DROP  egress       68.5      137  17.1 KiB',
      'NO_SOCKET          ingress       0.0        2      64 B',
    ]);
  });

  it('adds a LOCATION column when series carry one', () => {
    const located: View = {
      ...view,
      drops: [
        { ...row('NO_SOCKET', 'ingress', 5, 40, 1), location: '__udp4_lib_rcv' },
        row('TCP_CONNECT_BASIC', 'egress', 1, 0, 0),
      ],
    };
    expect(render(located, base).slice(3)).toEqual([
      'REASON             DIRECTION  LOCATION        RATE/s  PACKETS  BYTES',
      'NO_SOCKET          ingress    __udp4_lib_rcv     1.0        5   40 B',
      'TCP_CONNECT_BASIC  egress     -                  0.0        1    0 B',
    ]);
  });

  it('adds the pod table in advanced mode', () => {
    expect(render(view, { ...base, advanced: true }).slice(6)).toEqual([
      '',
      'POD         REASON             DIRECTION  RATE/s  PACKETS',
      'shop/web-1  IPTABLE_RULE_DROP  egress       68.5      137',
      '198.18.0.2  NO_SOCKET          ingress       0.0        2',
    ]);
  });

  it('shows - for a rate not known yet, and says when nothing was counted', () => {
    const first: View = {
      ...view,
      drops: [row('NO_SOCKET', 'ingress', 2, 64)],
      pods: [],
      total: { packets: 2, bytes: 64, rate: undefined },
    };
    expect(render(first, { ...base, advanced: true, intervalMs: 500 })).toEqual([
      'dropreason top: drops on this node, every 500ms, 2026-11-26T01:02:03Z',
      'dropped: 2 packets, 64 B in total',
      '',
      'REASON     DIRECTION  RATE/s  PACKETS  BYTES',
      'NO_SOCKET  ingress         -        2   64 B',
      '',
      'no drops counted by pod yet',
    ]);
  });

  it('shows a note, and a screen before any counts', () => {
    expect(render(undefined, { ...base, note: 'cannot read http://x/metrics: ECONNREFUSED' })).toEqual([
      'dropreason top: drops on this node, every 1s, waiting',
      'cannot read http://x/metrics: ECONNREFUSED',
    ]);
  });

  it('cuts tables to the terminal rows and lines to its columns', () => {
    const many: View = {
      ...view,
      drops: Array.from({ length: 20 }, (_, i) => row(`REASON_${String(i).padStart(2, '0')}`, 'ingress', 20 - i, 0, 1)),
      pods: Array.from({ length: 20 }, (_, i) => ({ ...row('NO_SOCKET', 'ingress', 20 - i, 0, 1), pod: `pod-${i}` })),
    };
    const lines = render(many, { ...base, advanced: true, rows: 20, columns: 30, footer: 'q or Ctrl-C to quit' });
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(lines.every((l) => l.length <= 30)).toBe(true);
    expect(lines).toContain('... 15 more');
    expect(lines.at(-1)).toBe('q or Ctrl-C to quit');
    expect(lines.filter((l) => l.startsWith('REASON_'))).toHaveLength(5);
    expect(lines.filter((l) => l.startsWith('pod-'))).toHaveLength(5);
  });
});
