/**
 * Passes each collection on as it comes; with send_batch_max_size, in parts of at most
 * that many data points.
 */
import type { MetricData } from '@opentelemetry/sdk-metrics';

import type { Component, MetricsConsumer, ResourceMetrics } from '../../service/component.js';
import type { BatchConfig } from './config.js';

/** Splits ResourceMetrics into parts of at most `max` data points, keeping resources, scopes and metrics. */
export function split(metrics: ResourceMetrics[], max: number): ResourceMetrics[][] {
  const parts: ResourceMetrics[][] = [];
  let part: ResourceMetrics[] = [];
  let size = 0;
  for (const rm of metrics) {
    for (const scope of rm.scopeMetrics) {
      for (const metric of scope.metrics) {
        let from = 0;
        while (from < metric.dataPoints.length) {
          if (size === max) {
            parts.push(part);
            part = [];
            size = 0;
          }
          const take = Math.min(max - size, metric.dataPoints.length - from);
          const piece = { ...metric, dataPoints: metric.dataPoints.slice(from, from + take) } as MetricData;
          let last = part.at(-1);
          if (last?.resource !== rm.resource) part.push((last = { resource: rm.resource, scopeMetrics: [] }));
          let lastScope = last.scopeMetrics.at(-1);
          if (lastScope?.scope !== scope.scope)
            last.scopeMetrics.push((lastScope = { scope: scope.scope, metrics: [] }));
          lastScope.metrics.push(piece);
          size += take;
          from += take;
        }
      }
    }
  }
  if (part.length > 0 || parts.length === 0) parts.push(part);
  return parts;
}

export class BatchProcessor implements Component, MetricsConsumer {
  constructor(
    private readonly config: BatchConfig,
    private readonly next: MetricsConsumer,
  ) {}

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}

  async consume(metrics: ResourceMetrics[]): Promise<void> {
    const max = this.config.send_batch_max_size;
    if (max === 0) return this.next.consume(metrics);
    for (const part of split(metrics, max)) await this.next.consume(part);
  }
}
