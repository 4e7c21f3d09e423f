/**
 * Keeps the last value of every series the exporter was given, from any number of
 * pipelines, and forgets series not updated within metric_expiration (a pod that went
 * away, a reason that stopped). Scrapes serialize what it holds.
 */
import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';

import { compareStrings } from '../../pdata/order.js';

interface Series {
  resource: Resource;
  scope: ScopeMetrics['scope'];
  metric: MetricData;
  point: MetricData['dataPoints'][number];
  updatedAt: number;
}

/**
 * The SDK hands over the same attributes object for a series at every collection, so its
 * key is made once: with 10,000 pod series making keys was most of a collection's cost.
 */
const keys = new WeakMap<Attributes, string>();

function attributesKey(a: Attributes): string {
  let key = keys.get(a);
  if (key === undefined) {
    key = JSON.stringify(Object.entries(a).sort(([x], [y]) => compareStrings(x, y)));
    keys.set(a, key);
  }
  return key;
}

/** A resource's series, by metric name, then by the key of their attributes. */
type ResourceSeries = Map<string, Map<string, Series>>;

export class Accumulator {
  /**
   * By resource key, metric name, attributes key: maps in maps, so each lookup hashes a
   * key string made (and hashed) once, not a new string joining all three.
   */
  private readonly series = new Map<string, ResourceSeries>();
  private count = 0;

  constructor(
    private readonly expirationMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(metrics: ResourceMetrics[]): void {
    const at = this.now();
    for (const rm of metrics) {
      const resourceKey = attributesKey(rm.resource.attributes);
      let byMetric = this.series.get(resourceKey);
      if (!byMetric) this.series.set(resourceKey, (byMetric = new Map()));
      for (const scope of rm.scopeMetrics) {
        for (const metric of scope.metrics) {
          let byPoint = byMetric.get(metric.descriptor.name);
          if (!byPoint) byMetric.set(metric.descriptor.name, (byPoint = new Map()));
          for (const point of metric.dataPoints) {
            const key = attributesKey(point.attributes);
            const s = byPoint.get(key);
            if (s) {
              s.resource = rm.resource;
              s.scope = scope.scope;
              s.metric = metric;
              s.point = point;
              s.updatedAt = at;
            } else {
              byPoint.set(key, { resource: rm.resource, scope: scope.scope, metric, point, updatedAt: at });
              this.count++;
            }
          }
        }
      }
    }
  }

  /** Drops expired series and returns the rest, grouped back into ResourceMetrics. */
  collect(): ResourceMetrics[] {
    const cutoff = this.now() - this.expirationMs;
    const byResource = new Map<
      Resource,
      Map<string, { scope: ScopeMetrics['scope']; metrics: Map<MetricData, MetricData> }>
    >();
    for (const [resourceKey, byMetric] of this.series) {
      for (const [name, byPoint] of byMetric) {
        for (const [key, s] of byPoint) {
          if (s.updatedAt < cutoff) {
            byPoint.delete(key);
            this.count--;
            continue;
          }
          let scopes = byResource.get(s.resource);
          if (!scopes) byResource.set(s.resource, (scopes = new Map()));
          const scopeKey = `${s.scope.name}@${s.scope.version ?? ''}`;
          let scope = scopes.get(scopeKey);
          if (!scope) scopes.set(scopeKey, (scope = { scope: s.scope, metrics: new Map() }));
          let metric = scope.metrics.get(s.metric);
          if (!metric) scope.metrics.set(s.metric, (metric = { ...s.metric, dataPoints: [] } as MetricData));
          (metric.dataPoints as unknown[]).push(s.point);
        }
        if (byPoint.size === 0) byMetric.delete(name);
      }
      if (byMetric.size === 0) this.series.delete(resourceKey);
    }
    return [...byResource].map(([resource, scopes]) => ({
      resource,
      scopeMetrics: [...scopes.values()].map((s) => ({ scope: s.scope, metrics: [...s.metrics.values()] })),
    }));
  }

  get size(): number {
    return this.count;
  }
}
