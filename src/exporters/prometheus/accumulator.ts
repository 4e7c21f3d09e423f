/**
 * Keeps the last value of every series the exporter was given, from any number of
 * pipelines, and forgets series not updated within metric_expiration (a pod that went
 * away, a reason that stopped). Scrapes serialize what it holds.
 */
import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';

import { compareStrings } from '../../service/order.js';

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

export class Accumulator {
  private readonly series = new Map<string, Series>();

  constructor(
    private readonly expirationMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(metrics: ResourceMetrics[]): void {
    const at = this.now();
    for (const rm of metrics) {
      const resourceKey = attributesKey(rm.resource.attributes);
      for (const scope of rm.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints) {
            const key = `${resourceKey}\u0000${metric.descriptor.name}\u0000${attributesKey(point.attributes)}`;
            this.series.set(key, { resource: rm.resource, scope: scope.scope, metric, point, updatedAt: at });
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
    for (const [key, s] of this.series) {
      if (s.updatedAt < cutoff) {
        this.series.delete(key);
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
    return [...byResource].map(([resource, scopes]) => ({
      resource,
      scopeMetrics: [...scopes.values()].map((s) => ({ scope: s.scope, metrics: [...s.metrics.values()] })),
    }));
  }

  get size(): number {
    return this.series.size;
  }
}
