import { directionName, type Direction } from './abi.js';
import type { DropSnapshot } from './drop_program.js';
import { OVERFLOW_REASON, type ReasonNames } from './reasons.js';

export interface DropTotal {
  reason: string;
  direction: Direction;
  count: number;
  bytes: number;
}

/**
 * Folds map entries into one total per (reason name, direction). Entries that differ only
 * by return value, or whose raw codes share a name, are added together, never overwritten.
 */
export function aggregateDrops(snapshot: DropSnapshot, names: ReasonNames, exclude: ReadonlySet<string>): DropTotal[] {
  const totals = new Map<string, DropTotal>();
  const add = (reason: string, direction: Direction, count: number, bytes: number) => {
    if (exclude.has(reason)) return;
    const key = `${reason}\u0000${direction}`;
    const t = totals.get(key);
    if (t) {
      t.count += count;
      t.bytes += bytes;
    } else {
      totals.set(key, { reason, direction, count, bytes });
    }
  };
  for (const c of snapshot.counters) add(names.name(c.origin, c.reason), directionName(c.direction), c.count, c.bytes);
  for (const o of snapshot.overflow) add(OVERFLOW_REASON, directionName(o.direction), o.count, o.bytes);
  return [...totals.values()].sort(
    (a, b) => a.reason.localeCompare(b.reason) || a.direction.localeCompare(b.direction),
  );
}
