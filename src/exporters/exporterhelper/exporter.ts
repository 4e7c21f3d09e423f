/**
 * The sending side both OTLP exporters share, after the Collector's exporterhelper:
 * consume() only queues; one loop in the background sends the batches (one per
 * ResourceMetrics) in order, one request at a time, and while the backend is unavailable
 * retries the oldest with exponential backoff (longer when the backend asks, with
 * Retry-After). The queue is bounded; when it is full the oldest batch goes. The log says
 * when exporting starts failing and when it recovers, once each, not at every attempt.
 * The transport (gRPC or HTTP) is a Sender and a function that says which of its
 * errors are worth retrying. Metrics go one batch per ResourceMetrics; logs one batch per
 * ResourceLogs, through a queue of their own (T).
 */
import type { Component, CreateSettings, ExporterStats, ResourceMetrics } from '../../service/component.js';
import { formatDuration } from '../../service/duration.js';
import type { QueueConfig, RetryConfig } from './config.js';
import { backoffDelay } from './retry.js';

/** What one export request came to. */
export interface SendResult {
  /** Undefined when the backend accepted the request. */
  error?: Error | undefined;
  /** Data points the backend said it rejected although it answered OK (partial success). */
  rejected?: { dataPoints: number; message: string } | undefined;
}

/** Sends one batch per call. */
export interface Sender<T> {
  send(batch: T): Promise<SendResult>;
  /** Closes the connection; calls still pending are abandoned. */
  shutdown(): Promise<void>;
}

export type MetricsSender = Sender<ResourceMetrics>;

/** What a failed export means for the next try. */
export interface Failure {
  /** A later try may succeed: the backend is down, overloaded or slow. */
  retryable: boolean;
  /** The status as the protocol names it (`UNAVAILABLE`, `HTTP 503`), for the log. */
  code?: string | undefined;
  /** The backend asked to wait this long before the next try (Retry-After). */
  retryAfterMs?: number | undefined;
}

/** The protocol under the queue. */
export interface Transport<T = ResourceMetrics> {
  /** `OTLP/gRPC`, `OTLP/HTTP`: for the log. */
  protocol: string;
  /** Where the data goes, for the log. */
  target: string;
  /** Fields of the start line: TLS, compression... */
  describe: Record<string, string>;
  /**
   * Builds the client; may read TLS files, so it runs at start, not in a constructor. A
   * promise when the client's module is loaded on first use (its dependencies are heavy).
   */
  makeSender(): Sender<T> | Promise<Sender<T>>;
  classify(error: Error): Failure;
  /** What it sends, for the log: metrics unless told. */
  signal?: 'metrics' | 'logs';
  /** The items of a batch (data points, log records): countDataPoints unless told. */
  count?(batch: T): number;
}

/** The settings the queue and the retries follow. */
export interface SendingConfig {
  timeout: number;
  retry_on_failure: RetryConfig;
  sending_queue: QueueConfig;
}

/**
 * Counters for the agent's own telemetry: the service's ExporterStats (in data points)
 * and the number of requests.
 */
export interface OtlpExporterStats extends ExporterStats {
  /** Export requests the backend accepted. */
  exportsSucceeded: number;
  /** Export requests that failed, every retry counted. */
  exportsFailed: number;
  /**
   * Data points given up on, for any reason: `failed` (refused by the backend, out of
   * retry time, still queued at shutdown) plus `dropped` (pushed out of a full queue).
   */
  dataPointsDropped: number;
  /** Batches waiting to be sent now. */
  queued: number;
}

export interface Clock {
  now(): number;
  /** A number in [0, 1), for the backoff's jitter. */
  random(): number;
}

export const systemClock: Clock = { now: () => Date.now(), random: () => Math.random() };

interface Batch<T> {
  data: T;
  points: number;
  /** When a send of this batch first failed: max_elapsed_time counts from here. */
  failingSince?: number;
  /** Wakes the consume() that waits for this batch (sending_queue disabled). */
  settled?: () => void;
}

/** What is going wrong, as logged: a change from one to another is logged once. */
type Trouble = 'retrying' | 'dropping' | 'rejected';

/** From the first failed export to the next success. */
interface Outage {
  since: number;
  trouble: Trouble;
  failedAttempts: number;
  droppedBatches: number;
  droppedPoints: number;
}

const TIMED_OUT = Symbol('timed out');

/** The promise's value, or TIMED_OUT if it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function countDataPoints(metrics: ResourceMetrics): number {
  let n = 0;
  for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) n += metric.dataPoints.length;
  return n;
}

export class QueuedExporter<C extends SendingConfig = SendingConfig, T = ResourceMetrics> implements Component {
  private sender: Sender<T> | undefined;
  private running = false;
  /** Oldest first. The batch being sent, if any, is queue[0] and is `inFlight`. */
  private readonly queue: Batch<T>[] = [];
  private inFlight: Batch<T> | undefined;
  private draining: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** Consecutive retryable failures: the step of the backoff. */
  private retries = 0;
  private wakeFromBackoff: (() => void) | undefined;
  private outage: Outage | undefined;
  private queueFullLogged = false;
  private partialLogged = false;
  private readonly counts = { sent: 0, failed: 0, dropped: 0, exportsSucceeded: 0, exportsFailed: 0 };

  constructor(
    protected readonly settings: CreateSettings,
    protected readonly config: C,
    private readonly transport: Transport<T>,
    private readonly clock: Clock = systemClock,
  ) {}

  stats(): OtlpExporterStats {
    const c = this.counts;
    return { ...c, dataPointsDropped: c.failed + c.dropped, queued: this.queue.length };
  }

  /** Builds the client (reading the TLS files); it connects on the first export. */
  async start(): Promise<void> {
    if (this.stopping) await this.stopping;
    if (this.running) return;
    this.sender = await this.transport.makeSender();
    this.running = true;
    this.settings.logger.info(`sending ${this.transport.signal ?? 'metrics'} over ${this.transport.protocol}`, {
      endpoint: this.transport.target,
      ...this.transport.describe,
    });
  }

  /**
   * Queues each ResourceMetrics as one batch and returns; with sending_queue disabled,
   * returns once they are sent or given up on.
   */
  async consume(items: T[]): Promise<void> {
    const count = this.transport.count ?? ((m: T) => countDataPoints(m as ResourceMetrics));
    const batches: Array<Batch<T>> = items.map((data) => ({ data, points: count(data) }));
    if (!this.running) {
      for (const b of batches) this.drop(b, 'failed');
      this.settings.logger.debug(`not running: ${this.transport.signal ?? 'metrics'} dropped`, {
        batches: batches.length,
      });
      return;
    }
    const settled = batches.map((b) => new Promise<void>((resolve) => (b.settled = resolve)));
    for (const b of batches) this.enqueue(b);
    this.kick();
    const { enabled, wait_for_result } = this.config.sending_queue;
    if (!enabled || wait_for_result) await Promise.all(settled);
  }

  /** What the queue holds now, apart from the batch on the wire, in units of the sizer. */
  private queued(): number {
    const waiting = this.inFlight ? this.queue.slice(1) : this.queue;
    if (this.config.sending_queue.sizer === 'requests') return waiting.length;
    return waiting.reduce((n, b) => n + b.points, 0);
  }

  private enqueue(batch: Batch<T>): void {
    const { enabled, queue_size, sizer } = this.config.sending_queue;
    if (enabled) {
      const size = sizer === 'requests' ? 1 : batch.points;
      while (this.queued() > 0 && this.queued() + size > queue_size) {
        // Metrics are cumulative: every batch carries the totals since the start, so the
        // newest batch holds everything an older one held. Dropping the oldest loses a
        // point in the series' history, never a count; the next export has the right totals.
        // Logs (samples of drops) are not: the oldest samples are lost, and counted so.
        const [oldest] = this.queue.splice(this.inFlight ? 1 : 0, 1);
        this.drop(oldest!, 'dropped');
        if (!this.queueFullLogged) {
          this.queueFullLogged = true;
          this.settings.logger.warn('sending queue full: dropping the oldest batches', { queue_size, sizer });
        }
      }
    }
    this.queue.push(batch);
  }

  private kick(): void {
    if (!this.running || this.draining) return;
    this.draining = this.drain().finally(() => (this.draining = undefined));
  }

  /** Sends the queue, oldest first, until it is empty or the exporter stops. */
  private async drain(): Promise<void> {
    const retry = this.config.retry_on_failure;
    while (this.running) {
      const batch = this.queue[0];
      if (!batch) return;
      const error = await this.attempt(batch);
      if (error === undefined || !this.running) continue;
      const failure = this.transport.classify(error);
      if (!retry.enabled || !failure.retryable) {
        this.remove(batch);
        this.drop(batch, 'failed');
        continue;
      }
      const now = this.clock.now();
      batch.failingSince ??= now;
      // As the Collector: the backend's Retry-After, when longer than the backoff, wins.
      const wait = Math.max(backoffDelay(this.retries++, retry, this.clock.random), failure.retryAfterMs ?? 0);
      if (retry.max_elapsed_time > 0 && now + wait - batch.failingSince > retry.max_elapsed_time) {
        this.remove(batch);
        this.drop(batch, 'failed');
        continue;
      }
      await this.sleep(wait);
    }
  }

  /**
   * One export request for `batch`, and its bookkeeping. `final` (the flush at shutdown)
   * counts a failure but does not log it: shutdown reports what it could not send.
   */
  private async attempt(batch: Batch<T>, final = false): Promise<Error | undefined> {
    const sender = this.sender;
    if (!sender) return new Error('exporter is shut down');
    this.inFlight = batch;
    let result: SendResult;
    try {
      result = await sender.send(batch.data);
    } catch (err) {
      result = { error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      if (this.inFlight === batch) this.inFlight = undefined;
    }
    // An answer that comes after shutdown gave up waiting for it changes nothing.
    if (this.sender !== sender) return result.error;
    if (result.error) {
      this.counts.exportsFailed++;
      if (!final) this.failing(result.error);
      return result.error;
    }
    this.counts.exportsSucceeded++;
    this.retries = 0;
    this.remove(batch);
    batch.settled?.();
    this.recovered();
    this.countAccepted(batch, result.rejected);
    if (this.queue.length === 0) this.queueFullLogged = false;
    return undefined;
  }

  /** Counts an accepted request's points, less those the backend said it rejected. */
  private countAccepted(batch: Batch<T>, rejected: SendResult['rejected']): void {
    const refused = Math.min(batch.points, rejected?.dataPoints ?? 0);
    this.counts.sent += batch.points - refused;
    this.counts.failed += refused;
    if (!rejected) {
      this.partialLogged = false;
      return;
    }
    if (this.partialLogged) return;
    this.partialLogged = true;
    this.settings.logger.warn('the backend accepted the export but rejected some data points', {
      rejected_data_points: rejected.dataPoints,
      message: rejected.message || undefined,
    });
  }

  private failing(error: Error): void {
    const failure = this.transport.classify(error);
    const retryable = failure.retryable;
    const trouble: Trouble = !retryable ? 'rejected' : this.config.retry_on_failure.enabled ? 'retrying' : 'dropping';
    const first = !this.outage;
    this.outage ??= { since: this.clock.now(), trouble, failedAttempts: 0, droppedBatches: 0, droppedPoints: 0 };
    this.outage.failedAttempts++;
    if (!first && this.outage.trouble === trouble) return;
    this.outage.trouble = trouble;
    const fields = {
      endpoint: this.transport.target,
      code: failure.code,
      error: error.message,
    };
    const log = this.settings.logger;
    if (trouble === 'retrying') log.warn('export failing, will retry', fields);
    else if (trouble === 'dropping')
      log.warn('export failing; retry_on_failure is disabled, so failed batches are dropped', fields);
    else log.error('export rejected: the backend refused the data, so it is dropped, not retried', fields);
  }

  private recovered(): void {
    const o = this.outage;
    if (!o) return;
    this.outage = undefined;
    this.queueFullLogged = false;
    this.settings.logger.info('export recovered', {
      after: formatDuration(Math.max(0, this.clock.now() - o.since)),
      failed_attempts: o.failedAttempts,
      dropped_batches: o.droppedBatches,
      dropped_data_points: o.droppedPoints,
    });
  }

  private remove(batch: Batch<T>): void {
    const i = this.queue.indexOf(batch);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Gives up on a batch: `dropped` when a full queue pushed it out, else `failed`. */
  private drop(batch: Batch<T>, why: 'failed' | 'dropped'): void {
    this.counts[why] += batch.points;
    if (this.outage) {
      this.outage.droppedBatches++;
      this.outage.droppedPoints += batch.points;
    }
    batch.settled?.();
  }

  /** Waits `ms`, or less if shutdown wakes it. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(), ms);
      timer.unref();
      const wake = () => {
        clearTimeout(timer);
        this.wakeFromBackoff = undefined;
        resolve();
      };
      this.wakeFromBackoff = wake;
    });
  }

  /**
   * Stops the loop, gives what is queued one last try (in order, each batch once, until
   * the first failure), then closes the connection: all within `timeout`.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async stop(): Promise<void> {
    const sender = this.sender;
    if (!sender) return;
    this.running = false;
    this.wakeFromBackoff?.();
    const deadline = this.clock.now() + this.config.timeout;
    const left = () => deadline - this.clock.now();
    // The loop ends once the request on the wire, if any, is answered or times out.
    if (this.draining) await within(this.draining, left());
    let lastError: Error | undefined;
    while (this.queue.length > 0 && !this.draining && left() > 0) {
      const result = await within(this.attempt(this.queue[0]!, true), left());
      if (result === TIMED_OUT) break;
      if (result) {
        lastError = result;
        break;
      }
    }
    const unsent = this.queue.splice(0);
    for (const b of unsent) this.drop(b, 'failed');
    if (unsent.length > 0) {
      this.settings.logger.warn('shut down with batches unsent', {
        batches: unsent.length,
        data_points: unsent.reduce((n, b) => n + b.points, 0),
        error:
          lastError?.message ?? (left() <= 0 ? `no answer within ${formatDuration(this.config.timeout)}` : undefined),
      });
    }
    this.sender = undefined;
    this.outage = undefined;
    this.retries = 0;
    this.queueFullLogged = false;
    await within(sender.shutdown(), left());
  }
}
