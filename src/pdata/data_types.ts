/**
 * The few enum values of @opentelemetry/sdk-metrics that the pipeline's data carries, as
 * constants of the SDK's own types. Importing them from the SDK would load all of it
 * (several megabytes resident) into agents that never build a MeterProvider;
 * test/unit/data_types.test.ts checks they equal the SDK's.
 */
import type { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';

export const CUMULATIVE = 1 as AggregationTemporality.CUMULATIVE;

export const HISTOGRAM = 0 as DataPointType.HISTOGRAM;
export const GAUGE = 2 as DataPointType.GAUGE;
export const SUM = 3 as DataPointType.SUM;
