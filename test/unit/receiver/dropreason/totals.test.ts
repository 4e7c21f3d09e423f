import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import type { DropTotal } from '../../../../src/receiver/dropreason/aggregate.js';
import { TotalsTable } from '../../../../src/receiver/dropreason/totals.js';

const resource = resourceFromAttributes({ 'service.name': 'dropreason' });
const total = (reason: string, count: number, bytes: number, error?: string): DropTotal => ({
  reason,
  direction: 'egress',
  error,
  count,
  bytes,
});

/** The points of one metric as [attributes, value, start ms, end ms]. */
function points(table: TotalsTable, nowMs: number, name: string) {
  const rm = table.resourceMetrics(resource, nowMs);
  const metric = rm.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === name)!;
  return metric.dataPoints.map((p) => [
    p.attributes,
    p.value,
    p.startTime[0] * 1000 + p.startTime[1] / 1e6,
    p.endTime[0] * 1000 + p.endTime[1] / 1e6,
  ]);
}

describe('TotalsTable', () => {
  it('has no metrics before the first drop', () => {
    expect(new TotalsTable().resourceMetrics(resource, 1000)).toEqual({ resource, scopeMetrics: [] });
  });

  it('serves the totals it was given as cumulative monotonic sums on the agent resource', () => {
    const table = new TotalsTable();
    table.update([total('NO_SOCKET', 3, 180), total('TCP_CONNECT_BASIC', 1, 0, 'ENETUNREACH')], 1000);
    const rm = table.resourceMetrics(resource, 1000);
    expect(rm.resource).toBe(resource);
    expect(rm.scopeMetrics[0]!.scope.name).toBe('dropreason');
    const [count, bytes] = rm.scopeMetrics[0]!.metrics;
    for (const m of [count!, bytes!]) {
      expect(m).toMatchObject({
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
      });
    }
    expect([count!.descriptor.name, count!.descriptor.unit]).toEqual(['dropreason.drop.count', '{packet}']);
    expect([bytes!.descriptor.name, bytes!.descriptor.unit]).toEqual(['dropreason.drop.bytes', 'By']);
    expect(points(table, 1000, 'dropreason.drop.count')).toEqual([
      [{ reason: 'NO_SOCKET', direction: 'egress' }, 3, 1000, 1000],
      [{ reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'ENETUNREACH' }, 1, 1000, 1000],
    ]);
    expect(points(table, 1000, 'dropreason.drop.bytes').map((p) => p[1])).toEqual([180, 0]);
  });

  it('keeps a series start time while it grows, and gives a new series its own', () => {
    const table = new TotalsTable();
    table.update([total('NO_SOCKET', 3, 180)], 1000);
    table.update([total('NO_SOCKET', 5, 300), total('NETFILTER_DROP', 2, 120)], 2500);
    expect(points(table, 2500, 'dropreason.drop.count')).toEqual([
      [{ reason: 'NO_SOCKET', direction: 'egress' }, 5, 1000, 2500],
      [{ reason: 'NETFILTER_DROP', direction: 'egress' }, 2, 2500, 2500],
    ]);
  });

  it('starts a series again when the kernel value goes down', () => {
    const table = new TotalsTable();
    table.update([total('NO_SOCKET', 5, 300)], 1000);
    table.update([total('NO_SOCKET', 2, 120)], 3000);
    expect(points(table, 3000, 'dropreason.drop.count')).toEqual([
      [{ reason: 'NO_SOCKET', direction: 'egress' }, 2, 3000, 3000],
    ]);
  });
});
