/**
 * Basic mode's series: the kernel's cumulative totals by reason, direction, error and location, as
 * dropreason.drop.count and dropreason.drop.bytes. A series starts when it is first seen,
 * and starts again if the kernel's value goes down; series are never forgotten (the
 * kernel's map never deletes a key).
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { DropTotal } from './aggregate.js';
import { DROP_BYTES, DROP_COUNT } from './metadata.generated.js';
import { cumulativeSum, hrTime, SCOPE } from './metric_data.js';

interface Series {
  attributes: Attributes;
  count: number;
  bytes: number;
  start: HrTime;
}

export class TotalsTable {
  private readonly series = new Map<string, Series>();

  get size(): number {
    return this.series.size;
  }

  /** Takes the totals of one read, made at nowMs. */
  update(totals: readonly DropTotal[], nowMs: number): void {
    for (const t of totals) {
      const key = `${t.reason}\u0000${t.direction}\u0000${t.error ?? ''}\u0000${t.location ?? ''}`;
      let s = this.series.get(key);
      if (!s) {
        const attributes: Attributes = { reason: t.reason, direction: t.direction };
        if (t.error) attributes['error'] = t.error;
        if (t.location) attributes['location'] = t.location;
        this.series.set(key, (s = { attributes, count: 0, bytes: 0, start: hrTime(nowMs) }));
      } else if (t.count < s.count || t.bytes < s.bytes) {
        s.start = hrTime(nowMs);
      }
      s.count = t.count;
      s.bytes = t.bytes;
    }
  }

  /** Every series as of nowMs, on the agent's resource; no metrics before the first drop. */
  resourceMetrics(resource: Resource, nowMs: number): ResourceMetrics {
    if (this.series.size === 0) return { resource, scopeMetrics: [] };
    const end = hrTime(nowMs);
    const series = [...this.series.values()];
    const points = (pick: (s: Series) => number) =>
      series.map((s) => ({ attributes: s.attributes, start: s.start, value: pick(s) }));
    return {
      resource,
      scopeMetrics: [
        {
          scope: SCOPE,
          metrics: [
            cumulativeSum(
              DROP_COUNT,
              points((s) => s.count),
              end,
            ),
            cumulativeSum(
              DROP_BYTES,
              points((s) => s.bytes),
              end,
            ),
          ],
        },
      ],
    };
  }
}
