import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { DebugExporter } from '../../../../src/exporters/debug/exporter.js';
import { debugExporterFactory } from '../../../../src/exporters/debug/factory.js';
import { collect, dropCounters, recordingLogger, settingsFor } from '../../support.js';

const T0 = new Date('2025-01-02T03:04:05.000Z');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DebugExporter lifecycle', () => {
  it('is created by its factory, shuts down without start, and starts and stops twice', async () => {
    const e = debugExporterFactory.create(
      settingsFor('exporters.debug'),
      { verbosity: 'normal' },
      {
        consume: async () => {},
      },
    );
    await e.shutdown();
    await e.start();
    await e.start();
    await e.shutdown();
    await e.shutdown();
  });
});

describe('DebugExporter output', () => {
  it('prints a table per push, with rates from the second push on', async () => {
    const out: string[] = [];
    const e = new DebugExporter(settingsFor('exporters.debug'), { verbosity: 'normal' }, (t) => out.push(t));
    await e.start();
    await e.consume([await collect(dropCounters([['NO_SOCKET', 'ingress', 100, 6000]]))]);
    vi.setSystemTime(T0.getTime() + 10_000);
    await e.consume([
      await collect(
        dropCounters([
          ['NO_SOCKET', 'ingress', 225, 13_500],
          ['IPTABLE_RULE_DROP', 'egress', 3, 180],
        ]),
      ),
    ]);
    expect(out).toEqual([
      [
        'drops at 2025-01-02T03:04:05.000Z: 100 packets in 1 series',
        'REASON     DIRECTION  PACKETS    BYTES  RATE',
        'NO_SOCKET  ingress        100  5.9 KiB     -',
        '',
      ].join('\n'),
      [
        'drops at 2025-01-02T03:04:15.000Z: 228 packets in 2 series',
        'REASON             DIRECTION  PACKETS     BYTES    RATE',
        'NO_SOCKET          ingress        225  13.2 KiB  12.5/s',
        'IPTABLE_RULE_DROP  egress           3     180 B   0.3/s',
        '',
      ].join('\n'),
    ]);
  });

  it('adds every data point at verbosity detailed', async () => {
    const out: string[] = [];
    const e = new DebugExporter(settingsFor('exporters.debug'), { verbosity: 'detailed' }, (t) => out.push(t));
    await e.consume([await collect(dropCounters([['NO_SOCKET', 'egress', 1, 40]]))]);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('NO_SOCKET  egress           1   40 B     -\nresource ');
    expect(out[0]).toContain('  dropreason.drop.count {reason=NO_SOCKET direction=egress} 1 {packet}\n');
    expect(out[0]).toContain('  dropreason.drop.bytes {reason=NO_SOCKET direction=egress} 40 By\n');
  });

  it('logs one line and prints nothing at verbosity basic', async () => {
    const out: string[] = [];
    const { logger, lines } = recordingLogger();
    const e = new DebugExporter(settingsFor('exporters.debug', logger), { verbosity: 'basic' }, (t) => out.push(t));
    await e.consume([
      await collect(
        dropCounters([
          ['NO_SOCKET', 'egress', 1, 40],
          ['OTHER', 'unknown', 2, 80],
        ]),
      ),
    ]);
    expect(out).toEqual([]);
    expect(lines).toEqual([`${T0.toISOString()} info  test: metrics resources=1 data_points=4\n`]);
  });
});
