/**
 * The otlp exporter's queue, retries, logging and lifecycle, over a fake sender: what is
 * sent, in which order, how often, and what the log says. The wire itself is tested
 * against a real gRPC server in test/integration/otlp.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { channelOptions, type MetricsSender, type SendResult, target } from '../../src/exporters/otlp/client.js';
import { configSchema, type OtlpConfig } from '../../src/exporters/otlp/config.js';
import { countDataPoints, OtlpExporter } from '../../src/exporters/otlp/exporter.js';
import { backoffDelay } from '../../src/exporters/exporterhelper/retry.js';
import { isRetryable } from '../../src/exporters/otlp/retry.js';
import type { ResourceMetrics } from '../../src/service/component.js';
import { dropBatch, recordingLogger, settingsFor } from './support.js';
import { parseSettings } from './componentconfig.js';

const UNAVAILABLE = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
const INVALID_ARGUMENT = Object.assign(new Error('3 INVALID_ARGUMENT: bad data'), { code: 3 });

function config(settings: Record<string, unknown> = {}): OtlpConfig {
  return parseSettings(configSchema, 'otlp', {
    tls: { insecure: true },
    timeout: '200ms',
    retry_on_failure: { initial_interval: '10ms', max_interval: '20ms' },
    ...settings,
  });
}

const batch = dropBatch;

function packetsOf(rm: ResourceMetrics): number {
  const metric = rm.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'dropreason.drop.count')!;
  return metric.dataPoints[0]!.value as number;
}

/** A backend stand-in: answers with `answer()` and remembers every batch it was sent. */
class FakeSender implements MetricsSender {
  readonly sent: number[] = [];
  answer: (packets: number) => Promise<SendResult> | SendResult = () => ({});
  closed = 0;
  async send(metrics: ResourceMetrics): Promise<SendResult> {
    const packets = packetsOf(metrics);
    this.sent.push(packets);
    return this.answer(packets);
  }
  async shutdown(): Promise<void> {
    this.closed++;
  }
}

function setUp(settings: Record<string, unknown> = {}) {
  const sender = new FakeSender();
  const { logger, lines } = recordingLogger();
  let made = 0;
  const exporter = new OtlpExporter(settingsFor('exporters.otlp', logger), config(settings), () => {
    made++;
    return sender;
  });
  return { exporter, sender, lines, made: () => made };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const matching = (lines: string[], text: string) => lines.filter((l) => l.includes(text));

let running: OtlpExporter[] = [];
function track(e: OtlpExporter): OtlpExporter {
  running.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(running.map((e) => e.shutdown()));
  running = [];
});

describe('otlp exporter lifecycle', () => {
  it('shuts down without being started, and twice', async () => {
    const { exporter, made } = setUp();
    await exporter.shutdown();
    await exporter.shutdown();
    expect(made()).toBe(0);
  });

  it('starts and stops twice; starting opens nothing and sends nothing', async () => {
    const { exporter, sender, made } = setUp();
    for (let i = 0; i < 2; i++) {
      await exporter.start();
      await exporter.start();
      expect(made()).toBe(i + 1);
      expect(sender.sent).toHaveLength(i);
      await exporter.consume([await batch(i + 1)]);
      await until('the send', () => sender.sent.length === i + 1);
      await exporter.shutdown();
      await exporter.shutdown();
      expect(sender.closed).toBe(i + 1);
    }
    expect(exporter.stats()).toMatchObject({ exportsSucceeded: 2, exportsFailed: 0, sent: 4, dataPointsDropped: 0 });
  });

  it('counts what it is given while not running as failed, and sends nothing', async () => {
    const { exporter, sender } = setUp();
    await exporter.consume([await batch(1)]);
    expect(sender.sent).toEqual([]);
    expect(exporter.stats()).toMatchObject({ failed: 2, dataPointsDropped: 2 });
  });
});

describe('otlp exporter sending', () => {
  it('sends each ResourceMetrics as one request, in order, and consume() does not wait for it', async () => {
    const { exporter, sender } = setUp();
    track(exporter);
    await exporter.start();
    let release!: () => void;
    sender.answer = () => new Promise((r) => (release = () => r({})));
    await exporter.consume([await batch(1), await batch(2)]);
    await exporter.consume([await batch(3)]);
    expect(sender.sent).toEqual([1]); // one request at a time; the rest are queued
    expect(exporter.stats().queued).toBe(3);
    sender.answer = () => ({});
    release();
    await until('all three', () => sender.sent.length === 3);
    expect(sender.sent).toEqual([1, 2, 3]);
    const b = await batch(1);
    expect(exporter.stats()).toMatchObject({ exportsSucceeded: 3, sent: 3 * countDataPoints(b), queued: 0 });
  });

  it('retries a retryable failure with backoff, logs once when it starts failing and once when it recovers', async () => {
    const { exporter, sender, lines } = setUp();
    track(exporter);
    await exporter.start();
    let down = true;
    sender.answer = () => (down ? { error: UNAVAILABLE } : {});
    await exporter.consume([await batch(5)]);
    await until('several retries', () => sender.sent.length >= 5);
    expect(new Set(sender.sent)).toEqual(new Set([5])); // the same batch, again and again
    down = false;
    await until('the recovery', () => exporter.stats().exportsSucceeded === 1);
    expect(matching(lines, 'export failing, will retry')).toHaveLength(1);
    expect(matching(lines, 'export failing, will retry')[0]).toContain('code=UNAVAILABLE');
    const recovered = matching(lines, 'export recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toContain('dropped_batches=0');
    expect(exporter.stats().exportsFailed).toBe(sender.sent.length - 1);
  });

  it('keeps a bounded queue: when full it drops the oldest waiting batch, and says how many on recovery', async () => {
    const { exporter, sender, lines } = setUp({ sending_queue: { queue_size: 3 } });
    track(exporter);
    await exporter.start();
    let down = true;
    sender.answer = () => (down ? { error: UNAVAILABLE } : {});
    await exporter.consume([await batch(1)]);
    await until('the first try', () => sender.sent.length === 1);
    for (let i = 2; i <= 8; i++) await exporter.consume([await batch(i)]);
    // Batch 1 failed and waits for its retry; it is the oldest, so it goes first, then
    // 2..5: only the newest three are kept.
    expect(exporter.stats().queued).toBe(3);
    const points = countDataPoints(await batch(1));
    expect(exporter.stats()).toMatchObject({ dropped: 5 * points, failed: 0, dataPointsDropped: 5 * points });
    down = false;
    await until('the queue to empty', () => exporter.stats().queued === 0);
    expect(sender.sent.filter((p, i, all) => all.indexOf(p) === i)).toEqual([1, 6, 7, 8]);
    expect(matching(lines, 'sending queue full')).toHaveLength(1);
    expect(matching(lines, 'export recovered')[0]).toContain('dropped_batches=5');
    expect(matching(lines, 'export recovered')[0]).toContain(`dropped_data_points=${5 * points}`);
  });

  it('with sizer: items, bounds the queue by data points', async () => {
    const points = countDataPoints(await batch(1));
    const { exporter, sender } = setUp({ sending_queue: { sizer: 'items', queue_size: 2 * points + 1 } });
    track(exporter);
    await exporter.start();
    let down = true;
    sender.answer = () => (down ? { error: UNAVAILABLE } : {});
    for (let i = 1; i <= 5; i++) await exporter.consume([await batch(i)]);
    expect(exporter.stats().queued).toBe(2); // two batches fit in 2 × points + 1 items, three do not
    down = false;
    await until('the queue to empty', () => exporter.stats().queued === 0);
    expect(sender.sent.filter((p, i, all) => all.indexOf(p) === i)).toEqual([1, 4, 5]); // 1: its first try
  });

  it('with wait_for_result, consume() returns once the batch is sent', async () => {
    const { exporter, sender } = setUp({ sending_queue: { wait_for_result: true } });
    track(exporter);
    await exporter.start();
    let fails = 2;
    sender.answer = () => (fails-- > 0 ? { error: UNAVAILABLE } : {});
    await exporter.consume([await batch(1)]);
    expect(sender.sent).toEqual([1, 1, 1]);
    expect(exporter.stats()).toMatchObject({ queued: 0, exportsSucceeded: 1, exportsFailed: 2 });
  });

  it('never drops the batch that is on the wire', async () => {
    const { exporter, sender } = setUp({ sending_queue: { queue_size: 1 } });
    track(exporter);
    await exporter.start();
    let release!: () => void;
    sender.answer = () => new Promise((r) => (release = () => r({})));
    await exporter.consume([await batch(1)]);
    await until('the first send', () => sender.sent.length === 1);
    await exporter.consume([await batch(2)]);
    await exporter.consume([await batch(3)]);
    expect(exporter.stats().queued).toBe(2); // 1 on the wire, 3 waiting; 2 pushed out
    sender.answer = () => ({});
    release();
    await until('the queue to empty', () => exporter.stats().queued === 0);
    expect(sender.sent).toEqual([1, 3]);
  });

  it('does not retry a permanent error: drops the batch, logs once, moves on', async () => {
    const { exporter, sender, lines } = setUp();
    track(exporter);
    await exporter.start();
    sender.answer = () => ({ error: INVALID_ARGUMENT });
    await exporter.consume([await batch(1), await batch(2), await batch(3)]);
    await until('all three tried', () => sender.sent.length === 3);
    await sleep(60); // several backoff intervals: nothing is sent again
    expect(sender.sent).toEqual([1, 2, 3]);
    expect(matching(lines, 'export rejected')).toHaveLength(1);
    expect(matching(lines, 'export rejected')[0]).toContain('code=INVALID_ARGUMENT');
    const points = countDataPoints(await batch(1));
    expect(exporter.stats()).toMatchObject({ exportsFailed: 3, failed: 3 * points, queued: 0 });
    sender.answer = () => ({});
    await exporter.consume([await batch(4)]);
    await until('the recovery', () => matching(lines, 'export recovered').length === 1);
    expect(matching(lines, 'export recovered')[0]).toContain('dropped_batches=3');
  });

  it('with retry_on_failure disabled, tries each batch once', async () => {
    const { exporter, sender, lines } = setUp({ retry_on_failure: { enabled: false } });
    track(exporter);
    await exporter.start();
    sender.answer = () => ({ error: UNAVAILABLE });
    await exporter.consume([await batch(1), await batch(2)]);
    await until('both tried', () => sender.sent.length === 2);
    await sleep(30);
    expect(sender.sent).toEqual([1, 2]);
    expect(matching(lines, 'retry_on_failure is disabled')).toHaveLength(1);
  });

  it('gives up on a batch after max_elapsed_time and goes on with the next', async () => {
    const { exporter, sender } = setUp({
      retry_on_failure: { initial_interval: '10ms', max_interval: '10ms', max_elapsed_time: '60ms' },
    });
    track(exporter);
    await exporter.start();
    sender.answer = (p) => (p === 1 ? { error: UNAVAILABLE } : {});
    await exporter.consume([await batch(1), await batch(2)]);
    await until('batch 2', () => sender.sent.includes(2));
    const tries = sender.sent.filter((p) => p === 1).length;
    expect(tries).toBeGreaterThan(2);
    expect(tries).toBeLessThan(15);
    expect(exporter.stats()).toMatchObject({ exportsSucceeded: 1, failed: countDataPoints(await batch(1)) });
  });

  it('counts data points the backend rejected in a partial success as failed, and says so once', async () => {
    const { exporter, sender, lines } = setUp();
    track(exporter);
    await exporter.start();
    sender.answer = () => ({ rejected: { dataPoints: 1, message: 'too old' } });
    await exporter.consume([await batch(1), await batch(2)]);
    await until('both sent', () => exporter.stats().exportsSucceeded === 2);
    const points = countDataPoints(await batch(1));
    expect(exporter.stats()).toMatchObject({ sent: 2 * (points - 1), failed: 2 });
    expect(matching(lines, 'rejected some data points')).toHaveLength(1);
  });

  it('without the sending queue, consume() returns once the batch is sent', async () => {
    const { exporter, sender } = setUp({ sending_queue: { enabled: false } });
    track(exporter);
    await exporter.start();
    let calls = 0;
    sender.answer = () => (++calls < 3 ? { error: UNAVAILABLE } : {});
    await exporter.consume([await batch(1)]);
    expect(sender.sent).toEqual([1, 1, 1]);
    expect(exporter.stats()).toMatchObject({ exportsSucceeded: 1, exportsFailed: 2 });
  });
});

describe('otlp exporter shutdown', () => {
  it('gives the queue one last try, in order, without retries', async () => {
    const { exporter, sender, lines } = setUp();
    await exporter.start();
    let down = true;
    sender.answer = () => (down ? { error: UNAVAILABLE } : {});
    await exporter.consume([await batch(1), await batch(2), await batch(3)]);
    await until('a retry', () => sender.sent.length >= 2);
    down = false;
    await exporter.shutdown();
    expect(sender.sent.slice(-3)).toEqual([1, 2, 3]);
    expect(exporter.stats()).toMatchObject({ exportsSucceeded: 3, queued: 0, dataPointsDropped: 0 });
    expect(sender.closed).toBe(1);
    expect(matching(lines, 'unsent')).toEqual([]);
  });

  it('stops at the first failure and counts the rest as failed', async () => {
    const { exporter, sender, lines } = setUp({ retry_on_failure: { initial_interval: '10s', max_interval: '10s' } });
    await exporter.start();
    sender.answer = () => ({ error: UNAVAILABLE });
    await exporter.consume([await batch(1), await batch(2), await batch(3)]);
    await until('the first try', () => sender.sent.length === 1);
    const started = Date.now();
    await exporter.shutdown();
    expect(Date.now() - started).toBeLessThan(150); // the 10 s backoff was cut short
    expect(sender.sent).toEqual([1, 1]);
    const points = countDataPoints(await batch(1));
    expect(exporter.stats()).toMatchObject({ failed: 3 * points, queued: 0 });
    expect(matching(lines, 'shut down with batches unsent')[0]).toContain('batches=3');
  });

  it('takes at most the timeout when the backend does not answer', async () => {
    const { exporter, sender } = setUp({ timeout: '100ms' });
    await exporter.start();
    sender.answer = () => new Promise(() => {}); // never answers
    await exporter.consume([await batch(1), await batch(2)]);
    await until('the first send', () => sender.sent.length === 1);
    const started = Date.now();
    await exporter.shutdown();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(90);
    expect(took).toBeLessThan(300);
    expect(sender.closed).toBe(1);
    expect(exporter.stats().failed).toBe(2 * countDataPoints(await batch(1)));
  });
});

describe('gRPC channel', () => {
  it('compresses as configured, and reconnects no slower than retry_on_failure retries', () => {
    expect(channelOptions(config())).toMatchObject({
      'grpc.default_compression_algorithm': 2, // gzip
      'grpc.initial_reconnect_backoff_ms': 10,
      'grpc.max_reconnect_backoff_ms': 20,
      'grpc.use_local_subchannel_pool': 1,
    });
    const defaults = config({ compression: 'none', retry_on_failure: {} });
    expect(channelOptions(defaults)).toMatchObject({
      'grpc.default_compression_algorithm': 0, // identity
      'grpc.initial_reconnect_backoff_ms': 1000,
      'grpc.max_reconnect_backoff_ms': 30_000,
    });
  });

  it('writes IPv6 targets in brackets, and dials the forms the Collector takes', () => {
    const dialed = (endpoint: string) => target(config({ endpoint }).endpoint);
    expect(dialed('[::1]:4317')).toBe('[::1]:4317');
    expect(dialed('collector:4317')).toBe('collector:4317');
    expect(dialed('http://collector:4317')).toBe('collector:4317');
    expect(dialed('https://collector:4317/')).toBe('collector:4317');
    expect(dialed('dns:///collector:4317')).toBe('collector:4317');
    expect(dialed('dns://8.8.8.8/collector:4317')).toBe('collector:4317');
    expect(dialed('unix:///run/otel.sock')).toBe('unix:///run/otel.sock');
  });

  it('sets keepalive, balancer, authority and the TLS name as configured', () => {
    expect(channelOptions(config())).toMatchObject({
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.service_config': '{"loadBalancingConfig":[{"round_robin":{}}]}',
    });
    const tuned = channelOptions(
      config({
        keepalive: { time: '30s', timeout: '5s', permit_without_stream: true },
        balancer_name: 'pick_first',
        authority: 'otel.example.com',
        tls: { server_name_override: 'collector.internal' },
      }),
    );
    expect(tuned).toMatchObject({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.service_config': '{"loadBalancingConfig":[{"pick_first":{}}]}',
      'grpc.default_authority': 'otel.example.com',
      'grpc.ssl_target_name_override': 'collector.internal',
    });
  });
});

describe('retry policy', () => {
  it('retries what a later try may fix, and nothing else', () => {
    const code = (c: number) => Object.assign(new Error('x'), { code: c });
    // CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS
    for (const c of [1, 4, 8, 10, 11, 14, 15]) expect(isRetryable(code(c))).toBe(true);
    // UNKNOWN, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION,
    // UNIMPLEMENTED, INTERNAL, UNAUTHENTICATED
    for (const c of [2, 3, 5, 6, 7, 9, 12, 13, 16]) expect(isRetryable(code(c))).toBe(false);
    expect(isRetryable(new Error('no gRPC code'))).toBe(false);
  });

  it('backs off ×1.5 per retry up to the maximum, spread ±50% (the defaults)', () => {
    const retry = config({ retry_on_failure: {} }).retry_on_failure;
    const at = (r: number) => (n: number) => backoffDelay(n, retry, () => r);
    expect([0, 1, 2, 3, 4, 5, 10].map(at(0.5))).toEqual([5000, 7500, 11250, 16875, 25313, 30000, 30000]);
    expect(at(0)(0)).toBe(2500);
    expect(at(0.999999)(0)).toBe(7500);
    expect(at(0)(10)).toBe(15000);
  });

  it('follows multiplier and randomization_factor', () => {
    const retry = config({
      retry_on_failure: { initial_interval: '1s', max_interval: '1m', multiplier: 2, randomization_factor: 0 },
    }).retry_on_failure;
    expect([0, 1, 2, 3, 6, 7].map((n) => backoffDelay(n, retry, Math.random))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000,
    ]);
    const spread = { ...retry, randomization_factor: 0.2 };
    expect([backoffDelay(1, spread, () => 0), backoffDelay(1, spread, () => 0.999999)]).toEqual([1600, 2400]);
  });
});
