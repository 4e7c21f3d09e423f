/**
 * How the receiver's readings become the pipeline's data: cumulative monotonic sums, named
 * and described by metadata.yaml, in the SDK's MetricData form. Basic totals (totals.ts)
 * and per-pod series (flows.ts) are both built here.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';

import { CUMULATIVE, SUM } from '../../pdata/data_types.js';
import { metadata } from './metadata.generated.js';

/** The instrumentation scope of the receiver's data. */
export const SCOPE = { name: 'dropreason' };

export type SumName = keyof typeof metadata.metrics;

/** One series at one collection: its value, and when it (last) started counting. */
export interface SumPoint {
  attributes: Attributes;
  start: HrTime;
  value: number;
}

export function hrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}

/** A cumulative monotonic sum of the receiver's, with the points of one collection ending at `end`. */
export function cumulativeSum(name: SumName, points: SumPoint[], end: HrTime): MetricData {
  const meta = metadata.metrics[name];
  return {
    descriptor: { name, description: meta.description, unit: meta.unit, valueType: 1 /* INT */ },
    aggregationTemporality: CUMULATIVE,
    dataPointType: SUM,
    isMonotonic: true,
    dataPoints: points.map((p) => ({ attributes: p.attributes, startTime: p.start, endTime: end, value: p.value })),
  };
}
