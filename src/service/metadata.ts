/**
 * The shape of a component's metadata.yaml, after the Collector's: its metrics, their
 * attributes, and its own telemetry. scripts/gen-metadata.mjs checks each file and writes
 * it out as metadata.generated.ts beside it, typed by these interfaces, so nothing reads
 * YAML at run time; docs/metrics.md is generated from the same constants.
 */
import { type MetricOptions, ValueType as ApiValueType } from '@opentelemetry/api';

export type ValueType = 'int' | 'double';

export interface AttributeMetadata {
  description: string;
  type: 'string' | 'int' | 'double' | 'bool';
  /** The values it can take, where there is a fixed set. */
  enum?: readonly string[];
  /** The attribute's name on the data, where it differs from its key in the file. */
  name_override?: string;
}

export interface MetricMetadata {
  description: string;
  /** UCUM, e.g. `By`, `{packet}`; '' for none. */
  unit: string;
  /** Exactly one of sum, gauge and histogram. `async` instruments are observed at collection. */
  sum?: { value_type: ValueType; monotonic: boolean; aggregation_temporality?: 'cumulative'; async?: boolean };
  gauge?: { value_type: ValueType; async?: boolean };
  histogram?: { value_type: ValueType; bucket_boundaries: readonly number[] };
  /** Keys of the file's attributes. */
  attributes: readonly string[];
}

export interface ComponentMetadata {
  type: string;
  /** The metadata.yaml this was generated from, relative to the repository. */
  source: string;
  attributes: Readonly<Record<string, AttributeMetadata>>;
  /** The metrics the component emits into its pipelines. */
  metrics?: Readonly<Record<string, MetricMetadata>>;
  /** The agent's own metrics the component reports (service.telemetry.metrics). */
  telemetry?: { metrics: Readonly<Record<string, MetricMetadata>> };
  /** The log records the component emits into logs pipelines: what each is, its attributes. */
  logs?: { description: string; attributes: readonly string[] };
}

/** The Meter API's options for an instrument of this metric: description, unit, value type, buckets. */
export function instrumentOptions(m: MetricMetadata): MetricOptions {
  const kind = m.sum ?? m.gauge ?? m.histogram;
  return {
    description: m.description,
    unit: m.unit,
    valueType: kind?.value_type === 'int' ? ApiValueType.INT : ApiValueType.DOUBLE,
    ...(m.histogram ? { advice: { explicitBucketBoundaries: [...m.histogram.bucket_boundaries] } } : {}),
  };
}
