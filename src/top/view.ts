/**
 * Rates from two successive snapshots, and the rows sorted the way a person scans them:
 * what is dropping fastest now first, then what has dropped most.
 */
import { type DropSeries, type Snapshot, dropKey, podKey } from './snapshot.js';

export interface Row extends DropSeries {
  /** Set in pod rows only. */
  pod?: string;
  /** Packets per second since the previous snapshot; undefined on the first. */
  rate: number | undefined;
}

export interface View {
  at: number;
  drops: Row[];
  pods: Row[];
  total: { packets: number; bytes: number; rate: number | undefined };
}

/**
 * Packets per second between two readings of one counter. A counter that went down was
 * reset (an agent restart), so it counted up from zero; one not seen before also did.
 */
export function rate(now: number, before: number | undefined, elapsedSeconds: number): number {
  const delta = before === undefined || now < before ? now : now - before;
  return delta / elapsedSeconds;
}

function withRates<T extends DropSeries>(
  series: T[],
  previous: T[] | undefined,
  key: (s: T) => string,
  elapsedSeconds: number,
): Array<T & { rate: number | undefined }> {
  if (!previous || elapsedSeconds <= 0) return series.map((s) => ({ ...s, rate: undefined }));
  const before = new Map(previous.map((s) => [key(s), s.packets]));
  return series.map((s) => ({ ...s, rate: rate(s.packets, before.get(key(s)), elapsedSeconds) }));
}

/** Fastest first; then most packets; then by name, so equal rows keep their place. */
export function compareRows(a: Row, b: Row): number {
  return (
    (b.rate ?? -1) - (a.rate ?? -1) ||
    b.packets - a.packets ||
    (a.pod ?? '').localeCompare(b.pod ?? '') ||
    a.reason.localeCompare(b.reason) ||
    a.direction.localeCompare(b.direction) ||
    (a.location ?? '').localeCompare(b.location ?? '')
  );
}

export function buildView(current: Snapshot, previous: Snapshot | undefined): View {
  const elapsed = previous ? (current.at - previous.at) / 1000 : 0;
  const drops: Row[] = withRates(current.drops, previous?.drops, dropKey, elapsed).sort(compareRows);
  const pods: Row[] = withRates(current.pods, previous?.pods, podKey, elapsed).sort(compareRows);
  const packets = drops.reduce((n, r) => n + r.packets, 0);
  const bytes = drops.reduce((n, r) => n + r.bytes, 0);
  const known = previous !== undefined && elapsed > 0;
  return {
    at: current.at,
    drops,
    pods,
    total: { packets, bytes, rate: known ? drops.reduce((n, r) => n + (r.rate ?? 0), 0) : undefined },
  };
}
