/**
 * Prints what it is given: a summary line, a drop table, or every data point; logs (samples
 * of drops) one line each.
 */
import type {
  Component,
  CreateSettings,
  LogsConsumer,
  MetricsConsumer,
  ResourceLogs,
  ResourceMetrics,
} from '../../service/component.js';
import type { DebugConfig } from './config.js';
import { type DropRow, dropRows, formatDataPoints, formatLogLines, formatTable, withRates } from './format.js';

export class DebugExporter implements Component, MetricsConsumer, LogsConsumer {
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

  /** basic: a count; normal: one line per record; detailed: the line and its attributes. */
  async consumeLogs(logs: ResourceLogs[]): Promise<void> {
    if (this.config.verbosity === 'basic') {
      const records = logs.reduce((n, rl) => n + rl.scopeLogs.reduce((m, s) => m + s.logRecords.length, 0), 0);
      this.settings.logger.info('logs', { resources: logs.length, log_records: records });
      return;
    }
    const text = formatLogLines(logs, this.config.verbosity === 'detailed');
    if (text) this.write(text);
  }

  async shutdown(): Promise<void> {}
}
