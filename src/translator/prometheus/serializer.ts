/**
 * Prometheus text exposition (format 0.0.4) and OpenMetrics text (1.0.0) of
 * ResourceMetrics, and the Prometheus names of OpenTelemetry metrics. A pure function,
 * shared as the Collector's pkg/translator/prometheus is: the prometheus exporter serves
 * its output, the service the agent's own metrics, and `dropreason top` reads names by it.
 */
import type { Attributes } from '@opentelemetry/api';
import type { Histogram, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';

import { compareStrings } from '../../pdata/order.js';
import { GAUGE, HISTOGRAM, SUM } from '../../pdata/data_types.js';

export interface SerializeOptions {
  /** Prefix for every metric name. */
  namespace?: string | undefined;
  /**
   * Names to serve instead of the OTel-derived ones, by OTel metric name, as gauges
   * holding the cumulative value (Retina's convention). Other metrics keep their names.
   */
  gaugeNames?: ReadonlyMap<string, string> | undefined;
  /** Labels added to every series; a data point's own attribute wins over a constant label. */
  constLabels?: Readonly<Record<string, string>> | undefined;
  /**
   * Labels taken from a series' resource (which pod it belongs to); a data point's own
   * attribute wins over one. Without it, the k8s.* attributes of a resource holding
   * k8s.pod.ip become labels, dots as underscores.
   */
  resourceLabels?: ((resource: Attributes) => Attributes) | undefined;
  /**
   * For labels that depend on both the resource and the data point (Retina's remote
   * context): all of a point's labels but the constant ones. Replaces resourceLabels.
   */
  labels?: ((resource: Attributes, point: Attributes, metric: string) => Attributes) | undefined;
  /**
   * Per OTel metric name, a rewrite of each data point's attributes before they become
   * labels (Retina's names for the interface drop attributes).
   */
  pointLabels?: ReadonlyMap<string, (point: Attributes) => Attributes> | undefined;
  /**
   * Label text kept per data point attributes object between calls with the same options.
   * The SDK hands over the same object for a series at every collection, so a scrape of
   * 10,000 pod series formats each one's labels once, not at every scrape.
   */
  labelCache?: LabelCache | undefined;
  /** `openmetrics`: OpenMetrics 1.0.0 text (counter families without `_total`, `# EOF`). */
  format?: 'prometheus' | 'openmetrics' | undefined;
  /** Writes each sample's time (Prometheus: milliseconds; OpenMetrics: seconds). */
  timestamps?: boolean | undefined;
  /**
   * false: counters keep their name without `_total` (Prometheus text only: OpenMetrics
   * requires the suffix on counter samples).
   * @default true
   */
  suffixes?: boolean | undefined;
  /**
   * A target_info gauge per resource, its attributes as labels, as the OpenTelemetry
   * Prometheus exporter serves it.
   */
  targetInfo?: boolean | undefined;
}

/** resourceLabels for resource_to_telemetry_conversion: every resource attribute. */
export const allResourceLabels = (resource: Attributes): Attributes => resource;

/** The default resourceLabels: a pod's k8s.* attributes, for resources that name a pod. */
export function podResourceLabels(resource: Attributes): Attributes {
  if (resource['k8s.pod.ip'] === undefined) return {};
  const out: Attributes = {};
  for (const [k, v] of Object.entries(resource)) {
    if (k.startsWith('k8s.') && k !== 'k8s.node.name') out[k] = v;
  }
  return out;
}

interface Family {
  /** The name of the samples; the family's own name differs for OpenMetrics counters. */
  sample: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  lines: string[];
}

export function sanitizeName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function sanitizeLabel(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string, openMetrics: boolean): string {
  const s = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return openMetrics ? s.replace(/"/g, '\\"') : s;
}

function formatTime([seconds, nanos]: [number, number], openMetrics: boolean): string {
  if (openMetrics)
    return nanos === 0 ? String(seconds) : `${seconds}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  return String(seconds * 1000 + Math.floor(nanos / 1e6));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(attributes: Attributes): string {
  const parts = Object.entries(attributes)
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([k, v]) => `${sanitizeLabel(k)}="${escapeLabelValue(String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** The Prometheus name and type of an OTel metric, or undefined for kinds not served. */
export function prometheusName(
  metric: MetricData,
  namespace?: string,
  gaugeNames?: ReadonlyMap<string, string>,
): { name: string; type: Family['type'] } | undefined {
  const renamed = gaugeNames?.get(metric.descriptor.name);
  if (renamed) return { name: namespace ? `${sanitizeName(namespace)}_${renamed}` : renamed, type: 'gauge' };
  if (metric.dataPointType === HISTOGRAM)
    return { name: derivedName(metric.descriptor.name, false, namespace), type: 'histogram' };
  const counter = metric.dataPointType === SUM && metric.isMonotonic;
  if (metric.dataPointType !== SUM && metric.dataPointType !== GAUGE) return undefined;
  return { name: derivedName(metric.descriptor.name, counter, namespace), type: counter ? 'counter' : 'gauge' };
}

/**
 * The name an OTel metric is served under in otel naming: characters Prometheus does not
 * allow become underscores, a counter (monotonic sum) ends in _total. Our metric names
 * already end in their unit, so no unit suffix is added.
 */
export function derivedName(otelName: string, counter: boolean, namespace?: string): string {
  let name = sanitizeName(otelName);
  if (namespace) name = `${sanitizeName(namespace)}_${name}`;
  return counter && !name.endsWith('_total') ? `${name}_total` : name;
}

/**
 * The samples of one histogram data point: a cumulative `_bucket` per boundary and `+Inf`,
 * then `_sum` and `_count`. labels is the point's label text, `{...}` or empty.
 */
function histogramLines(name: string, labels: string, value: Histogram, time: string): string[] {
  const withLe = (le: number) => `${labels ? labels.slice(0, -1) + ',' : '{'}le="${formatValue(le)}"}`;
  const lines: string[] = [];
  let cumulative = 0;
  value.buckets.boundaries.forEach((le, i) => {
    cumulative += value.buckets.counts[i] ?? 0;
    lines.push(`${name}_bucket${withLe(le)} ${cumulative}${time}`);
  });
  lines.push(`${name}_bucket${withLe(Infinity)} ${value.count}${time}`);
  if (value.sum !== undefined) lines.push(`${name}_sum${labels} ${formatValue(value.sum)}${time}`);
  lines.push(`${name}_count${labels} ${value.count}${time}`);
  return lines;
}

export type LabelCache = WeakMap<Attributes, { resource: string; text: string }>;

export function serialize(resourceMetrics: ResourceMetrics[], opts: SerializeOptions = {}): string {
  const openMetrics = opts.format === 'openmetrics';
  const families = new Map<string, Family>();
  if (opts.targetInfo) {
    const lines = resourceMetrics.map((rm) => `target_info${formatLabels(rm.resource.attributes)} 1`);
    families.set('target_info', { sample: 'target_info', help: 'Target metadata', type: 'gauge', lines });
  }
  const fromResource = opts.resourceLabels ?? podResourceLabels;
  for (const rm of resourceMetrics) {
    const resource = rm.resource.attributes;
    const resourceLabels = opts.labels ? undefined : fromResource(resource);
    const resourceKey = opts.labelCache ? JSON.stringify(resource) : '';
    for (const scope of rm.scopeMetrics) {
      for (const metric of scope.metrics) {
        const target = prometheusName(metric, opts.namespace, opts.gaugeNames);
        if (!target) continue;
        let { name } = target;
        let sample = name;
        if (target.type === 'counter') {
          const bare = name.replace(/_total$/, '');
          if (openMetrics) [name, sample] = [bare, `${bare}_total`];
          else if (opts.suffixes === false) name = sample = bare;
        }
        let family = families.get(name);
        if (!family) {
          family = { sample, help: metric.descriptor.description, type: target.type, lines: [] };
          families.set(name, family);
        }
        const rewrite = opts.pointLabels?.get(metric.descriptor.name);
        for (const dp of metric.dataPoints) {
          let cached = opts.labelCache?.get(dp.attributes);
          if (cached?.resource !== resourceKey) {
            const point = rewrite ? rewrite(dp.attributes) : dp.attributes;
            const own = opts.labels
              ? opts.labels(resource, point, metric.descriptor.name)
              : { ...resourceLabels, ...point };
            cached = { resource: resourceKey, text: formatLabels({ ...opts.constLabels, ...own }) };
            opts.labelCache?.set(dp.attributes, cached);
          }
          const time = opts.timestamps ? ` ${formatTime(dp.endTime, openMetrics)}` : '';
          if (typeof dp.value === 'number')
            family.lines.push(`${family.sample}${cached.text} ${formatValue(dp.value)}${time}`);
          else if ('buckets' in dp.value)
            family.lines.push(...histogramLines(family.sample, cached.text, dp.value, time));
        }
      }
    }
  }
  let out = '';
  for (const [name, family] of families) {
    if (family.help) out += `# HELP ${name} ${escapeHelp(family.help, openMetrics)}\n`;
    out += `# TYPE ${name} ${family.type}\n`;
    for (const line of family.lines) out += `${line}\n`;
  }
  return openMetrics ? `${out}# EOF\n` : out;
}
