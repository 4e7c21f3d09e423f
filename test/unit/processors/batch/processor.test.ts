import { describe, expect, it } from 'vitest';

import { BatchProcessor, split } from '../../../../src/processors/batch/processor.js';
import type { ResourceMetrics } from '../../../../src/service/component.js';
import { collect, dropCounters } from '../../support.js';

const points = (rms: ResourceMetrics[]) =>
  rms.flatMap((rm) =>
    rm.scopeMetrics.flatMap((s) => s.metrics.flatMap((m) => m.dataPoints.map((p) => [m.descriptor.name, p]))),
  );

describe('split', () => {
  it('cuts a collection into parts of at most max data points, in order, losing none', async () => {
    const rm = await collect(
      dropCounters([
        ['A', 'ingress', 1, 10],
        ['B', 'egress', 2, 20],
        ['C', 'unknown', 3, 30],
      ]),
    );
    const parts = split([rm], 4);
    expect(parts.map((p) => points(p).length)).toEqual([4, 2]);
    expect(parts.flatMap(points)).toEqual(points([rm]));
    for (const part of parts) for (const r of part) expect(r.resource).toBe(rm.resource);
  });

  it('keeps an empty collection as one empty part', () => {
    expect(split([], 10)).toEqual([[]]);
  });
});

describe('BatchProcessor', () => {
  it('passes a collection on unchanged without send_batch_max_size, and split with it', async () => {
    const rm = await collect(
      dropCounters([
        ['A', 'ingress', 1, 10],
        ['B', 'egress', 2, 20],
      ]),
    );
    const seen: ResourceMetrics[][] = [];
    const next = { consume: async (m: ResourceMetrics[]) => void seen.push(m) };
    const config = { timeout: 200, send_batch_size: 8192, metadata_keys: [], metadata_cardinality_limit: 1000 };
    const whole = new BatchProcessor({ ...config, send_batch_max_size: 0 }, next);
    await whole.shutdown();
    await whole.start();
    await whole.start();
    await whole.consume([rm]);
    expect(seen).toEqual([[rm]]);
    seen.length = 0;
    await new BatchProcessor({ ...config, send_batch_max_size: 1 }, next).consume([rm]);
    expect(seen.map((p) => points(p).length)).toEqual([1, 1, 1, 1]);
    await whole.shutdown();
    await whole.shutdown();
  });
});
