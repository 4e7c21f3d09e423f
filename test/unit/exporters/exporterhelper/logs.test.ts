/**
 * The log records' own counts in an exporter that takes metrics and logs: what the backend
 * accepted, what failed for good (refused, partially rejected) and what a full queue pushed
 * out, counted in records, apart from the metrics' data points. Over fake senders; the wire
 * is tested in test/integration/samples*.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { configSchema, type OtlpConfig } from '../../../../src/exporters/otlp/config.js';
import { countDataPoints, OtlpExporter } from '../../../../src/exporters/otlp/exporter.js';
import type { SendResult } from '../../../../src/exporters/exporterhelper/exporter.js';
import type { ResourceLogs, ResourceMetrics } from '../../../../src/service/component.js';
import { parseSettings } from '../../componentconfig.js';
import { dropBatch, settingsFor, testResource } from '../../support.js';

const INVALID_ARGUMENT = Object.assign(new Error('3 INVALID_ARGUMENT: bad data'), { code: 3 });

function config(settings: Record<string, unknown> = {}): OtlpConfig {
  return parseSettings(configSchema, 'otlp', { tls: { insecure: true }, timeout: '200ms', ...settings });
}

/** One ResourceLogs of `n` records. */
function logs(n: number): ResourceLogs {
  const record = {
    hrTime: [1, 0] as [number, number],
    observedHrTime: [1, 0] as [number, number],
    severityNumber: 9,
    severityText: 'INFO',
    body: 'drop',
    attributes: {},
  };
  return { resource: testResource, scopeLogs: [{ scope: { name: 'test' }, logRecords: Array(n).fill(record) }] };
}

const records = (rl: ResourceLogs) => rl.scopeLogs[0]!.logRecords.length;

let running: OtlpExporter[] = [];
afterEach(async () => {
  await Promise.all(running.map((e) => e.shutdown()));
  running = [];
});

/** An exporter whose logs backend answers `answer(records)`; metrics are always accepted. */
function setUp(answer: (records: number) => Promise<SendResult> | SendResult, settings: Record<string, unknown> = {}) {
  const received: number[] = [];
  const metricsSender = { send: async (): Promise<SendResult> => ({}), shutdown: async () => {} };
  const logsSender = {
    send: async (rl: ResourceLogs) => {
      received.push(records(rl));
      return answer(records(rl));
    },
    shutdown: async () => {},
  };
  const exporter = new OtlpExporter(
    settingsFor('exporters.otlp'),
    config(settings),
    () => metricsSender,
    undefined,
    () => logsSender,
  );
  running.push(exporter);
  return { exporter, received };
}

async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('log records in the exporter stats', () => {
  it('counts records sent, and those refused or partially rejected as failed, apart from data points', async () => {
    // 3 records accepted; of 4, the backend rejects 1 (partial success); 5 are refused.
    const { exporter, received } = setUp((n) =>
      n === 4 ? { rejected: { dataPoints: 1, message: 'one bad record' } } : n === 5 ? { error: INVALID_ARGUMENT } : {},
    );
    await exporter.start();
    const metrics: ResourceMetrics = await dropBatch(7);
    await exporter.consume([metrics]);
    await exporter.consumeLogs([logs(3), logs(4), logs(5)]);
    await until('every batch answered', () => received.length === 3 && exporter.stats().logRecords!.failed === 6);
    const points = countDataPoints(metrics);
    expect(exporter.stats()).toMatchObject({
      sent: points,
      failed: 0,
      dropped: 0,
      logRecords: { sent: 3 + 3, failed: 1 + 5, dropped: 0 },
    });
  });

  it('counts the records a full queue pushes out as dropped', async () => {
    // The backend answers nothing until released: the first batch stays on the wire.
    let release: () => void = () => {};
    const answered = new Promise<SendResult>((resolve) => (release = () => resolve({})));
    const { exporter, received } = setUp(() => answered, { sending_queue: { queue_size: 4, sizer: 'items' } });
    await exporter.start();
    await exporter.consumeLogs([logs(2)]);
    await until('the first batch on the wire', () => received.length === 1);
    // 3 + 3 items do not fit a queue of 4: the older 3 go.
    await exporter.consumeLogs([logs(3), logs(3)]);
    release();
    await until('the queue sent', () => exporter.stats().logRecords!.sent === 2 + 3);
    expect(exporter.stats().logRecords).toEqual({ sent: 5, failed: 0, dropped: 3 });
    expect(received).toEqual([2, 3]);
    expect(exporter.stats()).toMatchObject({ sent: 0, failed: 0, dropped: 0 });
  });
});
