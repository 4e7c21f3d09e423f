/**
 * Interface-level drops: the kernel's own per-device drop counters, which include drops
 * by the NIC and its driver that never become an skb (so kfree_skb does not see them).
 *
 * They are read from sysfs, /sys/class/net/DEV/statistics/*, in the agent's network
 * namespace (sysfs shows the namespace it was mounted in). The table below keeps one
 * cumulative series per interface and counter, with a new start time when an interface
 * appears, is re-created under the same name (new ifindex) or its counter goes down; an
 * interface that is gone is forgotten at the next read, so it is no longer reported and
 * the exporters' expiry removes it downstream.
 */
import fs from 'node:fs';
import path from 'node:path';

import type { Attributes, HrTime } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';

import { SYSTEM_NETWORK_PACKET_DROPPED } from './metadata.generated.js';
import { cumulativeSum, hrTime } from './metric_data.js';

export const INTERFACE_NAME_ATTRIBUTE = 'network.interface.name';
export const IO_DIRECTION_ATTRIBUTE = 'network.io.direction';
export const STATISTIC_ATTRIBUTE = 'dropreason.interface.statistic';

/** The counters read, by their kernel name (struct rtnl_link_stats64, and the sysfs file). */
export const INTERFACE_STATISTICS = {
  rx_dropped: 'receive',
  rx_missed_errors: 'receive',
  rx_fifo_errors: 'receive',
  rx_over_errors: 'receive',
  tx_dropped: 'transmit',
} as const;

export type InterfaceStatistic = keyof typeof INTERFACE_STATISTICS;
const STATISTICS = Object.keys(INTERFACE_STATISTICS) as InterfaceStatistic[];

/** One interface's counters at one read. */
export interface InterfaceCounters {
  name: string;
  ifindex: number;
  counters: Record<InterfaceStatistic, number>;
}

export const SYSFS_NET = '/sys/class/net';

/** Interfaces read between two turns of the event loop. */
const READ_BATCH = 16;

/**
 * Reads the counters of every interface in the agent's network namespace whose name
 * `accept`s. An interface that disappears while it is read is left out: it is gone.
 *
 * The files are read synchronously, a few interfaces at a time with a turn of the event
 * loop between: measured with 200 veths, that costs a fifth of the CPU time of
 * asynchronous reads (docs/BENCHMARKS.md), and no turn waits long.
 */
export async function readInterfaceCounters(
  accept: (name: string) => boolean,
  root: string = SYSFS_NET,
): Promise<InterfaceCounters[]> {
  const names = fs.readdirSync(root).filter(accept).sort();
  const out: InterfaceCounters[] = [];
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % READ_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
    const counters = readInterface(root, names[i]!);
    if (counters) out.push(counters);
  }
  return out;
}

function readInterface(root: string, name: string): InterfaceCounters | undefined {
  const dir = path.join(root, name);
  try {
    const ifindex = parseCounter(fs.readFileSync(path.join(dir, 'ifindex'), 'utf8'));
    const counters = {} as Record<InterfaceStatistic, number>;
    for (const s of STATISTICS) counters[s] = parseCounter(fs.readFileSync(path.join(dir, 'statistics', s), 'utf8'));
    return { name, ifindex, counters };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV') return undefined;
    throw new Error(`reading ${dir}: ${code ?? (err as Error).message}`, { cause: err });
  }
}

/** A sysfs counter: a decimal number and a newline. */
export function parseCounter(text: string): number {
  const n = Number(text.trim());
  if (!/^\d+\n?$/.test(text) || !Number.isSafeInteger(n)) throw new Error(`not a counter: ${JSON.stringify(text)}`);
  return n;
}

/**
 * Which interfaces are reported, by name: those matching one of `include` (all when it is
 * empty) and none of `exclude`. Each pattern must match the whole name.
 */
export function interfaceFilter(include: readonly string[], exclude: readonly string[]): (name: string) => boolean {
  const whole = (patterns: readonly string[]) => patterns.map((p) => new RegExp(`^(?:${p})$`));
  const inc = whole(include);
  const exc = whole(exclude);
  return (name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
}

interface Series {
  attributes: Attributes;
  value: number;
  start: HrTime;
}

interface Interface {
  ifindex: number;
  series: Map<InterfaceStatistic, Series>;
}

/** Cumulative series per interface and counter, from successive reads. */
export class InterfaceTable {
  private interfaces = new Map<string, Interface>();

  get size(): number {
    return this.interfaces.size;
  }

  /** Takes one read: the interfaces in it replace the ones held, so vanished ones are forgotten. */
  update(read: readonly InterfaceCounters[], nowMs: number): void {
    const next = new Map<string, Interface>();
    for (const c of read) {
      const held = this.interfaces.get(c.name);
      const known = held?.ifindex === c.ifindex ? held : undefined;
      const iface: Interface = known ?? { ifindex: c.ifindex, series: new Map() };
      for (const statistic of STATISTICS) {
        const value = c.counters[statistic];
        const s = iface.series.get(statistic);
        if (s && value >= s.value) {
          s.value = value;
          continue;
        }
        // New, re-created, or reset (the counter went down): a new start time.
        iface.series.set(statistic, {
          // Kept from read to read: the Prometheus exporter caches label text per attributes object.
          attributes: s?.attributes ?? {
            [INTERFACE_NAME_ATTRIBUTE]: c.name,
            [IO_DIRECTION_ATTRIBUTE]: INTERFACE_STATISTICS[statistic],
            [STATISTIC_ATTRIBUTE]: statistic,
          },
          value,
          start: hrTime(nowMs),
        });
      }
      next.set(c.name, iface);
    }
    this.interfaces = next;
  }

  /** system.network.packet.dropped for every interface of the last read. */
  metricData(nowMs: number): MetricData {
    const points = [...this.interfaces.values()].flatMap((iface) => [...iface.series.values()]);
    return cumulativeSum(SYSTEM_NETWORK_PACKET_DROPPED, points, hrTime(nowMs));
  }
}
