/**
 * The exporters' counts in the agent's own metrics, as served on the telemetry endpoint:
 * data points for every exporter that reports them, and log records apart for those in a
 * logs pipeline only.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { Component, ExporterStats, Factory, MetricsConsumer } from '../../../src/service/component.js';
import { type Registry, parseConfig } from '../../../src/service/config.js';
import { object } from '../../../src/service/schema.js';
import { Service } from '../../../src/service/service.js';
import { freePort } from '../../integration/harness/agent.js';
import { recordingLogger, testResource } from '../support.js';

/** Each exporter's stats, set by the test, by component id. */
const stats = new Map<string, ExporterStats>();

function registry(): Registry {
  const schema = object({});
  const idle = { start: async () => {}, shutdown: async () => {} };
  const source: Factory<unknown, Component> = {
    type: 'source',
    kind: 'receiver',
    configSchema: schema,
    signals: ['metrics', 'logs'],
    create: () => idle,
  };
  const sink: Factory<unknown, Component & MetricsConsumer> = {
    type: 'sink',
    kind: 'exporter',
    configSchema: schema,
    signals: ['metrics', 'logs'],
    create: (settings) => ({
      ...idle,
      consume: async () => {},
      consumeLogs: async () => {},
      stats: () => stats.get(settings.id)!,
    }),
  };
  return { receiver: [source], processor: [], exporter: [sink as Factory<unknown, Component>], extension: [] };
}

let service: Service | undefined;
afterEach(async () => {
  await service?.shutdown();
  service = undefined;
});

describe("the exporters' counts in the agent's own metrics", () => {
  it('counts log records apart from data points, for the exporters in a logs pipeline only', async () => {
    const port = await freePort();
    const config = parseConfig(
      `receivers:
  source:
exporters:
  sink/both:
  sink/metrics:
service:
  telemetry:
    metrics:
      level: normal
      address: 127.0.0.1:${port}
  pipelines:
    metrics:
      receivers: [source]
      exporters: [sink/both, sink/metrics]
    logs:
      receivers: [source]
      exporters: [sink/both]
`,
      registry(),
      {},
    );
    stats.set('exporters.sink/both', {
      sent: 10,
      failed: 2,
      dropped: 1,
      logRecords: { sent: 7, failed: 3, dropped: 4 },
    });
    // An exporter that could take logs but is in no logs pipeline reports none.
    stats.set('exporters.sink/metrics', {
      sent: 5,
      failed: 0,
      dropped: 0,
      logRecords: { sent: 0, failed: 0, dropped: 0 },
    });
    service = new Service(config, recordingLogger().logger, testResource);
    await service.start();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const series = text
      .split('\n')
      .filter((l) => l.startsWith('dropreason_agent_exporter_'))
      .map((l) => l.replace(/,?otel_scope_[a-z_]+="[^"]*"/g, ''))
      .sort();
    expect(series).toEqual([
      'dropreason_agent_exporter_queue_dropped_log_records_total{exporter="sink/both"} 4',
      'dropreason_agent_exporter_queue_dropped_total{exporter="sink/both"} 1',
      'dropreason_agent_exporter_queue_dropped_total{exporter="sink/metrics"} 0',
      'dropreason_agent_exporter_send_failed_log_records_total{exporter="sink/both"} 3',
      'dropreason_agent_exporter_send_failed_total{exporter="sink/both"} 2',
      'dropreason_agent_exporter_send_failed_total{exporter="sink/metrics"} 0',
      'dropreason_agent_exporter_sent_log_records_total{exporter="sink/both"} 7',
      'dropreason_agent_exporter_sent_total{exporter="sink/both"} 10',
      'dropreason_agent_exporter_sent_total{exporter="sink/metrics"} 5',
    ]);
  });
});
