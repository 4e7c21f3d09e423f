/** Text for the debug exporter. Pure functions of the data, so they are unit-tested. */
import type { Attributes } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { ResourceLogs } from '../../service/component.js';
import { compareStrings } from '../../pdata/order.js';
import { DROP_BYTES, DROP_COUNT } from '../../receiver/dropreason/metadata.generated.js';

export interface DropRow {
  reason: string;
  direction: string;
  packets: number;
  bytes: number;
  /** Packets per second since the previous push; undefined on the first. */
  rate?: number | undefined;
}

/** Pairs dropreason.drop.count and dropreason.drop.bytes points that share their attributes into rows. */
export function dropRows(metrics: ResourceMetrics[]): DropRow[] {
  const rows = new Map<string, DropRow>();
  for (const rm of metrics) {
    for (const scope of rm.scopeMetrics) {
      for (const metric of scope.metrics) {
        const name = metric.descriptor.name;
        const field = name === DROP_COUNT ? 'packets' : name === DROP_BYTES ? 'bytes' : undefined;
        if (!field) continue;
        for (const dp of metric.dataPoints) {
          if (typeof dp.value !== 'number') continue;
          const reason = String(dp.attributes['reason'] ?? '');
          const direction = String(dp.attributes['direction'] ?? '');
          const key = `${reason}\u0000${direction}`;
          const row = rows.get(key) ?? { reason, direction, packets: 0, bytes: 0 };
          row[field] += dp.value;
          rows.set(key, row);
        }
      }
    }
  }
  return [...rows.values()].sort((a, b) => b.packets - a.packets || compareStrings(a.reason, b.reason));
}

/** Fills in each row's rate from the previous push's rows. */
export function withRates(rows: DropRow[], previous: DropRow[] | undefined, elapsedSeconds: number): DropRow[] {
  if (!previous || elapsedSeconds <= 0) return rows;
  const before = new Map(previous.map((r) => [`${r.reason}\u0000${r.direction}`, r.packets]));
  return rows.map((r) => ({
    ...r,
    rate: Math.max(0, r.packets - (before.get(`${r.reason}\u0000${r.direction}`) ?? 0)) / elapsedSeconds,
  }));
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatTable(rows: DropRow[], at: Date): string {
  const header = ['REASON', 'DIRECTION', 'PACKETS', 'BYTES', 'RATE'];
  const body = rows.map((r) => [
    r.reason,
    r.direction,
    String(r.packets),
    formatBytes(r.bytes),
    r.rate === undefined ? '-' : `${r.rate.toFixed(1)}/s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const totalPackets = rows.reduce((s, r) => s + r.packets, 0);
  const title = `drops at ${at.toISOString()}: ${totalPackets} packets in ${rows.length} series`;
  if (rows.length === 0) return `${title}\n`;
  return [title, line(header), ...body.map(line)].join('\n') + '\n';
}

function formatAttributes(a: Attributes): string {
  return Object.entries(a)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** Every data point, one per line, for verbosity: detailed. */
export function formatDataPoints(metrics: ResourceMetrics[]): string {
  let out = '';
  for (const rm of metrics) {
    out += `resource ${formatAttributes(rm.resource.attributes)}\n`;
    for (const scope of rm.scopeMetrics) {
      for (const m of scope.metrics) {
        for (const dp of m.dataPoints) {
          out += `  ${m.descriptor.name} {${formatAttributes(dp.attributes)}} ${String(dp.value)} ${m.descriptor.unit}\n`;
        }
      }
    }
  }
  return out;
}

/** One line per log record: when, what (its body), and the pod when the resource names one. */
export function formatLogLines(logs: ResourceLogs[], withAttributes: boolean): string {
  let text = '';
  for (const rl of logs) {
    const r = rl.resource.attributes;
    const pod =
      r['k8s.pod.name'] === undefined
        ? ''
        : ` pod=${String(r['k8s.namespace.name'] ?? '')}/${String(r['k8s.pod.name'])}`;
    for (const scope of rl.scopeLogs) {
      for (const record of scope.logRecords) {
        const [sec, nanos] = record.hrTime;
        const at = new Date(sec * 1000 + Math.floor(nanos / 1e6)).toISOString();
        text += `${at} ${record.body}${pod}`;
        if (withAttributes) {
          for (const [key, value] of Object.entries(record.attributes)) text += ` ${key}=${String(value)}`;
        }
        text += '\n';
      }
    }
  }
  return text;
}
