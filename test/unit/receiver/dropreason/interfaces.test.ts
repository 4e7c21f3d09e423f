import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DataPointType } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';

import { serialize } from '../../../../src/translator/prometheus/serializer.js';
import { RETINA_POINT_LABELS } from '../../../../src/exporters/prometheus/retina.js';
import {
  type InterfaceCounters,
  interfaceFilter,
  InterfaceTable,
  parseCounter,
  readInterfaceCounters,
} from '../../../../src/receiver/dropreason/interfaces.js';
import { resourceFromAttributes } from '@opentelemetry/resources';

function counters(name: string, ifindex: number, over: Partial<InterfaceCounters['counters']> = {}): InterfaceCounters {
  return {
    name,
    ifindex,
    counters: { rx_dropped: 0, rx_missed_errors: 0, rx_fifo_errors: 0, rx_over_errors: 0, tx_dropped: 0, ...over },
  };
}

function points(table: InterfaceTable, now: number): Array<Record<string, unknown>> {
  return table.metricData(now).dataPoints.map((dp) => ({
    ...dp.attributes,
    value: dp.value,
    start: dp.startTime[0],
  }));
}

const at = (name: string, statistic: string) => (p: Record<string, unknown>) =>
  p['network.interface.name'] === name && p['dropreason.interface.statistic'] === statistic;

describe('parseCounter', () => {
  it('reads a sysfs counter and refuses anything else', () => {
    expect(parseCounter('12345\n')).toBe(12345);
    expect(parseCounter('0\n')).toBe(0);
    expect(() => parseCounter('')).toThrow('not a counter: ""');
    expect(() => parseCounter('-1\n')).toThrow('not a counter');
    expect(() => parseCounter('18446744073709551615\n')).toThrow('not a counter');
  });
});

describe('interfaceFilter', () => {
  it('takes every interface by default', () => {
    const accept = interfaceFilter([], []);
    expect(['lo', 'eth0', 'veth1a2b'].filter(accept)).toEqual(['lo', 'eth0', 'veth1a2b']);
  });

  it('matches whole names: include, then exclude', () => {
    const accept = interfaceFilter(['eth[0-9]+', 'veth.*'], ['veth9.*']);
    expect(['lo', 'eth0', 'eth0.100', 'xeth1', 'veth1a2b', 'veth9abc'].filter(accept)).toEqual(['eth0', 'veth1a2b']);
  });
});

describe('InterfaceTable', () => {
  it('holds one cumulative series per interface and counter, with its direction', () => {
    const table = new InterfaceTable();
    table.update([counters('eth0', 2, { rx_dropped: 5, rx_missed_errors: 1, tx_dropped: 2 })], 1000);
    table.update([counters('eth0', 2, { rx_dropped: 7, rx_missed_errors: 1, tx_dropped: 2 })], 2000);
    const data = table.metricData(3000);
    expect(data.descriptor).toMatchObject({ name: 'system.network.packet.dropped', unit: '{packet}' });
    expect(data).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true });
    expect(points(table, 3000)).toEqual([
      e('eth0', 'receive', 'rx_dropped', 7, 1),
      e('eth0', 'receive', 'rx_missed_errors', 1, 1),
      e('eth0', 'receive', 'rx_fifo_errors', 0, 1),
      e('eth0', 'receive', 'rx_over_errors', 0, 1),
      e('eth0', 'transmit', 'tx_dropped', 2, 1),
    ]);
  });

  it('forgets an interface that is gone', () => {
    const table = new InterfaceTable();
    table.update([counters('eth0', 2), counters('veth1', 7, { tx_dropped: 3 })], 1000);
    expect(table.size).toBe(2);
    table.update([counters('eth0', 2)], 2000);
    expect(table.size).toBe(1);
    expect(points(table, 3000).map((p) => p['network.interface.name'])).not.toContain('veth1');
  });

  it('starts a series anew when its counter goes down or the name comes back as another interface', () => {
    const table = new InterfaceTable();
    table.update([counters('eth0', 2, { rx_dropped: 9 }), counters('veth1', 7, { tx_dropped: 3 })], 1000);
    table.update([counters('eth0', 2, { rx_dropped: 4 }), counters('veth1', 8, { tx_dropped: 5 })], 5000);
    const got = points(table, 6000);
    expect(got.find(at('eth0', 'rx_dropped'))).toMatchObject({ value: 4, start: 5 });
    expect(got.find(at('eth0', 'tx_dropped'))).toMatchObject({ value: 0, start: 1 });
    expect(got.find(at('veth1', 'tx_dropped'))).toMatchObject({ value: 5, start: 5 });
  });

  it('keeps the attributes object of a series from read to read', () => {
    const table = new InterfaceTable();
    table.update([counters('eth0', 2)], 1000);
    const first = table.metricData(1000).dataPoints[0]!.attributes;
    table.update([counters('eth0', 2, { rx_dropped: 1 })], 2000);
    expect(table.metricData(2000).dataPoints[0]!.attributes).toBe(first);
  });
});

describe('interface drops in Prometheus text', () => {
  const table = new InterfaceTable();
  table.update([counters('eth0', 2, { rx_dropped: 7, tx_dropped: 2 })], 1000);
  const rm = [
    {
      resource: resourceFromAttributes({ 'service.name': 'dropreason' }),
      scopeMetrics: [{ scope: { name: 'dropreason' }, metrics: [table.metricData(2000)] }],
    },
  ];

  it('uses the semantic-convention attributes with naming otel', () => {
    const text = serialize(rm);
    expect(text).toContain('# TYPE system_network_packet_dropped_total counter\n');
    expect(text).toContain(
      'system_network_packet_dropped_total{dropreason_interface_statistic="rx_dropped",network_interface_name="eth0",network_io_direction="receive"} 7\n',
    );
  });

  it("uses Retina's metric name and labels with naming retina", () => {
    const text = serialize(rm, {
      gaugeNames: new Map([['system.network.packet.dropped', 'networkobservability_interface_stats']]),
      pointLabels: RETINA_POINT_LABELS,
    });
    expect(text).toContain('# TYPE networkobservability_interface_stats gauge\n');
    expect(text).toContain(
      'networkobservability_interface_stats{interface_name="eth0",statistic_name="rx_dropped"} 7\n',
    );
    expect(text).toContain(
      'networkobservability_interface_stats{interface_name="eth0",statistic_name="tx_dropped"} 2\n',
    );
  });
});

describe('readInterfaceCounters', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A directory laid out as /sys/class/net: DEV/ifindex and DEV/statistics/COUNTER. */
  function fakeSysfs(devices: Record<string, { ifindex: number; stats?: Record<string, number> }>): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-sysfs-'));
    dirs.push(root);
    for (const [name, d] of Object.entries(devices)) {
      fs.mkdirSync(path.join(root, name, 'statistics'), { recursive: true });
      fs.writeFileSync(path.join(root, name, 'ifindex'), `${d.ifindex}\n`);
      for (const [s, v] of Object.entries(d.stats ?? {})) {
        fs.writeFileSync(path.join(root, name, 'statistics', s), `${v}\n`);
      }
    }
    return root;
  }

  const full = { rx_dropped: 3, rx_missed_errors: 4, rx_fifo_errors: 5, rx_over_errors: 6, tx_dropped: 7 };

  it('reads every accepted interface, sorted by name', async () => {
    const root = fakeSysfs({ lo: { ifindex: 1, stats: full }, eth0: { ifindex: 2, stats: full } });
    expect(await readInterfaceCounters(() => true, root)).toEqual([
      { name: 'eth0', ifindex: 2, counters: full },
      { name: 'lo', ifindex: 1, counters: full },
    ]);
    expect((await readInterfaceCounters((n) => n !== 'lo', root)).map((c) => c.name)).toEqual(['eth0']);
  });

  it('leaves out an interface that vanished while being read', async () => {
    // veth1 has no counters: as when the device is deleted between listing and reading.
    const root = fakeSysfs({ eth0: { ifindex: 2, stats: full }, veth1: { ifindex: 9 } });
    expect((await readInterfaceCounters(() => true, root)).map((c) => c.name)).toEqual(['eth0']);
  });

  it('reads this machine: loopback is there with its counters', async () => {
    if (!fs.existsSync('/sys/class/net/lo')) {
      console.log('skipping: no /sys/class/net/lo on this machine');
      return;
    }
    const lo = (await readInterfaceCounters((n) => n === 'lo')).at(0);
    expect(lo?.ifindex).toBe(1);
    expect(Object.keys(lo?.counters ?? {}).sort()).toEqual(Object.keys(full).sort());
  });
});

function e(name: string, direction: string, statistic: string, value: number, start: number) {
  return {
    'network.interface.name': name,
    'network.io.direction': direction,
    'dropreason.interface.statistic': statistic,
    value,
    start,
  };
}
