import os from 'node:os';

import { compareStrings } from '../../pdata/order.js';
import { directionName, Origin, type Direction } from './abi.js';
import type { DropSnapshot } from './drop_program.js';
import { hookReason } from './hook_reasons.js';
import { OVERFLOW_REASON, type ReasonNames } from './reasons.js';

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

/** ENETUNREACH for 101; `errno 999` for numbers Node does not know. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

export interface DropTotal {
  reason: string;
  direction: Direction;
  /** For failed connects and accepts: the errno name, e.g. ENETUNREACH. */
  error?: string | undefined;
  /** The kernel function that freed the packet, when locations are counted. */
  location?: string | undefined;
  count: number;
  bytes: number;
}

/**
 * Folds map entries into one total per (reason name, direction, location name). Entries
 * that differ only by return value, or whose raw codes or addresses share a name, are added
 * together, never overwritten. `locationName` gives '' for location 0 (not counted).
 */
export function aggregateDrops(
  snapshot: DropSnapshot,
  names: ReasonNames,
  exclude: ReadonlySet<string>,
  locationName: (address: bigint) => string = () => '',
): DropTotal[] {
  const totals = new Map<string, DropTotal>();
  const add = (reason: string, direction: Direction, count: number, bytes: number, error?: string, location = '') => {
    if (exclude.has(reason)) return;
    const key = `${reason}\u0000${direction}\u0000${error ?? ''}\u0000${location}`;
    const t = totals.get(key);
    if (t) {
      t.count += count;
      t.bytes += bytes;
    } else {
      totals.set(key, {
        reason,
        direction,
        count,
        bytes,
        ...(error ? { error } : {}),
        ...(location ? { location } : {}),
      });
    }
  };
  for (const c of snapshot.counters) {
    // Socket errors keep their errno; for packet drops the return value is only summed over.
    const error =
      c.origin === Origin.Hook && hookReason(c.reason)?.counts === 'socket error'
        ? errnoName(-c.returnValue)
        : undefined;
    add(names.name(c.origin, c.reason), directionName(c.direction), c.count, c.bytes, error, locationName(c.location));
  }
  for (const o of snapshot.overflow) add(OVERFLOW_REASON, directionName(o.direction), o.count, o.bytes);
  return [...totals.values()].sort(
    (a, b) =>
      compareStrings(a.reason, b.reason) ||
      compareStrings(a.direction, b.direction) ||
      compareStrings(a.error ?? '', b.error ?? '') ||
      compareStrings(a.location ?? '', b.location ?? ''),
  );
}
