/**
 * The Meter behind the agent's own metrics (service.telemetry.metrics), in place of the
 * OpenTelemetry SDK's MeterProvider: loading @opentelemetry/sdk-metrics costs a basic agent
 * about 2 MiB resident (docs/BENCHMARKS.md), for a dozen instruments read when the
 * telemetry endpoint is scraped.
 *
 * Components see a TelemetryMeter: the part of the @opentelemetry/api Meter interface the
 * agent uses, named from the API's own types. So the API's no-op meter still serves when
 * telemetry is off, the callers keep the API's instrument types, and the compiler says so
 * when a component reaches for an instrument this Meter does not make.
 *
 * What it keeps, as the SDK does by default: counters and histograms cumulative from the
 * meter's creation; observable instruments read at each collection, a series keeping the
 * last value observed also at collections that no longer observe it; histograms over the
 * advised bucket boundaries or the SDK's default ones. Collected as the pipeline's
 * ResourceMetrics, for the Prometheus serializer.
 */
import {
  type Attributes,
  type BatchObservableCallback,
  type BatchObservableResult,
  type Counter,
  type Histogram,
  type HrTime,
  type Meter,
  type MetricOptions,
  type Observable,
  type ObservableCallback,
  type ObservableCounter,
  type ObservableGauge,
  ValueType,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { DataPoint, Histogram as HistogramValue, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';

import { CUMULATIVE, GAUGE, HISTOGRAM, SUM } from '../pdata/data_types.js';
import { compareStrings } from '../pdata/order.js';

export type TelemetryMeter = Pick<
  Meter,
  | 'createCounter'
  | 'createHistogram'
  | 'createObservableCounter'
  | 'createObservableGauge'
  | 'addBatchObservableCallback'
>;

/**
 * The boundaries of an explicit-bucket histogram without advice: the SDK's default
 * (HistogramAggregation in @opentelemetry/sdk-metrics, src/view/Aggregation.ts).
 */
export const DEFAULT_BOUNDARIES: readonly number[] = [
  0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
];

/** The instrumentation scope of every instrument, as the SDK's getMeter name. */
export const SCOPE_NAME = 'dropreason.agent';

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** One series' key: its attributes in name order, as the SDK tells series apart. */
function seriesKey(attributes: Attributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => compareStrings(a, b)));
}

/**
 * The value an instrument takes, or undefined for one it refuses: as the SDK, a negative
 * value for a counter or histogram, and a value of an int instrument that does not
 * truncate to an integer; NaN too.
 */
function accepted(value: number, options: MetricOptions, nonNegative: boolean): number | undefined {
  const v = options.valueType === ValueType.INT ? Math.trunc(value) : value;
  if (Number.isNaN(v) || (nonNegative && v < 0)) return undefined;
  if (options.valueType === ValueType.INT && !Number.isInteger(v)) return undefined;
  return v;
}

interface Instrument {
  readonly name: string;
  readonly options: MetricOptions;
  /** Its data at a collection. */
  collect(start: HrTime, end: HrTime): MetricData;
}

interface ObservedPoint {
  attributes: Attributes;
  value: number;
}

function descriptor(name: string, options: MetricOptions): MetricData['descriptor'] {
  return {
    name,
    description: options.description ?? '',
    unit: options.unit ?? '',
    valueType: options.valueType ?? ValueType.DOUBLE,
  };
}

class SyncCounter implements Counter, Instrument {
  private readonly series = new Map<string, ObservedPoint>();
  constructor(
    readonly name: string,
    readonly options: MetricOptions,
  ) {}

  add(value: number, attributes: Attributes = {}): void {
    const v = accepted(value, this.options, true);
    if (v === undefined) return;
    const key = seriesKey(attributes);
    const point = this.series.get(key);
    if (point) point.value += v;
    else this.series.set(key, { attributes: { ...attributes }, value: v });
  }

  collect(startTime: HrTime, endTime: HrTime): MetricData {
    return {
      descriptor: descriptor(this.name, this.options),
      aggregationTemporality: CUMULATIVE,
      dataPointType: SUM,
      isMonotonic: true,
      dataPoints: [...this.series.values()].map(({ attributes, value }) => ({ attributes, startTime, endTime, value })),
    };
  }
}

interface Buckets {
  attributes: Attributes;
  counts: number[];
  sum: number;
  count: number;
}

class SyncHistogram implements Histogram, Instrument {
  private readonly series = new Map<string, Buckets>();
  private readonly boundaries: number[];
  constructor(
    readonly name: string,
    readonly options: MetricOptions,
  ) {
    const advised = options.advice?.explicitBucketBoundaries ?? DEFAULT_BOUNDARIES;
    this.boundaries = advised.filter(Number.isFinite).sort((a, b) => a - b);
  }

  record(value: number, attributes: Attributes = {}): void {
    const v = accepted(value, this.options, true);
    if (v === undefined) return;
    const key = seriesKey(attributes);
    let buckets = this.series.get(key);
    if (!buckets) {
      buckets = { attributes: { ...attributes }, counts: this.boundaries.map(() => 0).concat(0), sum: 0, count: 0 };
      this.series.set(key, buckets);
    }
    // A bucket holds the values up to its boundary, inclusive; the last one the rest.
    const i = this.boundaries.findIndex((b) => v <= b);
    buckets.counts[i === -1 ? this.boundaries.length : i]! += 1;
    buckets.sum += v;
    buckets.count += 1;
  }

  collect(startTime: HrTime, endTime: HrTime): MetricData {
    const dataPoints: Array<DataPoint<HistogramValue>> = [...this.series.values()].map((b) => ({
      attributes: b.attributes,
      startTime,
      endTime,
      value: { buckets: { boundaries: [...this.boundaries], counts: [...b.counts] }, sum: b.sum, count: b.count },
    }));
    return {
      descriptor: descriptor(this.name, this.options),
      aggregationTemporality: CUMULATIVE,
      dataPointType: HISTOGRAM,
      dataPoints,
    };
  }
}

class AsyncInstrument implements ObservableCounter, ObservableGauge, Instrument {
  readonly callbacks: ObservableCallback[] = [];
  private readonly series = new Map<string, ObservedPoint>();
  constructor(
    readonly name: string,
    readonly options: MetricOptions,
    private readonly monotonic: boolean,
  ) {}

  addCallback(callback: ObservableCallback): void {
    if (!this.callbacks.includes(callback)) this.callbacks.push(callback);
  }

  removeCallback(callback: ObservableCallback): void {
    const i = this.callbacks.indexOf(callback);
    if (i !== -1) this.callbacks.splice(i, 1);
  }

  /** Records an observation; the last one of a series wins. */
  observe(value: number, attributes: Attributes = {}): void {
    const v = accepted(value, this.options, false);
    if (v !== undefined) this.series.set(seriesKey(attributes), { attributes: { ...attributes }, value: v });
  }

  collect(startTime: HrTime, endTime: HrTime): MetricData {
    const dataPoints = [...this.series.values()].map(({ attributes, value }) => ({
      attributes,
      startTime,
      endTime,
      value,
    }));
    return this.monotonic
      ? {
          descriptor: descriptor(this.name, this.options),
          aggregationTemporality: CUMULATIVE,
          dataPointType: SUM,
          isMonotonic: true,
          dataPoints,
        }
      : {
          descriptor: descriptor(this.name, this.options),
          aggregationTemporality: CUMULATIVE,
          dataPointType: GAUGE,
          dataPoints,
        };
  }
}

export class AgentMeter implements TelemetryMeter {
  private readonly instruments: Instrument[] = [];
  private readonly batches: Array<{ callback: BatchObservableCallback; observables: AsyncInstrument[] }> = [];
  private readonly start = hrTime(Date.now());

  constructor(private readonly resource: Resource) {}

  private add<T extends Instrument>(instrument: T): T {
    this.instruments.push(instrument);
    return instrument;
  }

  createCounter(name: string, options: MetricOptions = {}): Counter {
    return this.add(new SyncCounter(name, options));
  }

  createHistogram(name: string, options: MetricOptions = {}): Histogram {
    return this.add(new SyncHistogram(name, options));
  }

  createObservableCounter(name: string, options: MetricOptions = {}): ObservableCounter {
    return this.add(new AsyncInstrument(name, options, true));
  }

  createObservableGauge(name: string, options: MetricOptions = {}): ObservableGauge {
    return this.add(new AsyncInstrument(name, options, false));
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    const ours = observables.filter((o): o is AsyncInstrument => o instanceof AsyncInstrument);
    this.batches.push({ callback, observables: ours });
  }

  /**
   * Runs every observable callback and returns the data of the instruments that have
   * some, as the SDK does; the error of a callback that throws goes in errors.
   */
  async collect(): Promise<{ resourceMetrics: ResourceMetrics; errors: unknown[] }> {
    const errors: unknown[] = [];
    const run = async (callback: () => void | Promise<void>) => {
      try {
        await callback();
      } catch (err) {
        errors.push(err);
      }
    };
    const calls: Array<Promise<void>> = [];
    for (const instrument of this.instruments) {
      if (!(instrument instanceof AsyncInstrument)) continue;
      for (const callback of instrument.callbacks) {
        calls.push(run(() => callback({ observe: (value, attributes) => instrument.observe(value, attributes) })));
      }
    }
    for (const { callback, observables } of this.batches) {
      const result: BatchObservableResult = {
        observe: (observable, value, attributes) => {
          const instrument = observable as AsyncInstrument;
          if (observables.includes(instrument)) instrument.observe(value, attributes);
        },
      };
      calls.push(run(() => callback(result)));
    }
    await Promise.all(calls);
    const end = hrTime(Date.now());
    const metrics = this.instruments.map((i) => i.collect(this.start, end)).filter((m) => m.dataPoints.length > 0);
    return {
      resourceMetrics: { resource: this.resource, scopeMetrics: [{ scope: { name: SCOPE_NAME }, metrics }] },
      errors,
    };
  }
}
