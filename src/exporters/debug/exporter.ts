/** Prints what it is given: a summary line, a drop table, or every data point. */
import type { Component, CreateSettings, MetricsConsumer, ResourceMetrics } from '../../service/component.js';
import type { DebugConfig } from './config.js';
import { type DropRow, dropRows, formatDataPoints, formatTable, withRates } from './format.js';

export class DebugExporter implements Component, MetricsConsumer {
  private previous: { rows: DropRow[]; at: number } | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: DebugConfig,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
  ) {}

  async start(): Promise<void> {}

  async consume(metrics: ResourceMetrics[]): Promise<void> {
    const now = Date.now();
    const rows = dropRows(metrics);
    const elapsed = this.previous ? (now - this.previous.at) / 1000 : 0;
    const rated = withRates(rows, this.previous?.rows, elapsed);
    this.previous = { rows, at: now };
    if (this.config.verbosity === 'basic') {
      const points = metrics.reduce(
        (n, rm) => n + rm.scopeMetrics.reduce((m, s) => m + s.metrics.reduce((k, x) => k + x.dataPoints.length, 0), 0),
        0,
      );
      this.settings.logger.info('metrics', { resources: metrics.length, data_points: points });
      return;
    }
    let text = formatTable(rated, new Date(now));
    if (this.config.verbosity === 'detailed') text += formatDataPoints(metrics);
    this.write(text);
  }

  async shutdown(): Promise<void> {}
}
