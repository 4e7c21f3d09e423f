/**
 * The service with a registry of small fake components that record what happens to them:
 * what is created, in which order things start and stop, and where data goes.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import type { Component, Factory, Host, MetricsConsumer, ResourceMetrics } from '../../../src/service/component.js';
import { type Registry, parseConfig } from '../../../src/service/config.js';
import { boolean, object, string } from '../../../src/service/schema.js';
import { Service } from '../../../src/service/service.js';
import { recordingLogger, testResource } from '../support.js';

interface FakeConfig {
  fail_start: boolean;
  fail_shutdown: boolean;
  fail_preflight: boolean;
  tag: string;
  unhealthy: string;
}
const fakeSchema = object({
  fail_start: boolean({ default: false }),
  fail_shutdown: boolean({ default: false }),
  fail_preflight: boolean({ default: false }),
  tag: string({ default: '' }),
  unhealthy: string({ default: '' }),
});

/** What the fakes did, in order: `start exporters.sink/a`, `consume exporters.sink/a <- x`, ... */
class Journal {
  readonly events: string[] = [];
  readonly created: string[] = [];
  /** What the service's health was when each extension started. */
  readonly healthAtStart: Array<true | string> = [];
  /** The host each extension was given, to ask its health later. */
  readonly hosts: Host[] = [];
  /** Data each exporter received, by component id. */
  readonly received = new Map<string, string[]>();
}

function lifecycle(id: string, config: FakeConfig, journal: Journal): Component {
  return {
    async start() {
      journal.events.push(`start ${id}`);
      if (config.fail_start) throw new Error('cannot start: fake failure');
    },
    async shutdown() {
      journal.events.push(`shutdown ${id}`);
      if (config.fail_shutdown) throw new Error('cannot stop: fake failure');
    },
  };
}

/** Reads the fake payload: each data set is a ResourceMetrics whose only scope name is the payload. */
const payload = (metrics: ResourceMetrics[]) => metrics.map((m) => m.scopeMetrics[0]?.scope.name ?? '?').join(',');
const data = (text: string): ResourceMetrics[] => [
  { resource: testResource, scopeMetrics: [{ scope: { name: text }, metrics: [] }] },
];

function fakeRegistry(journal: Journal): Registry {
  const erase = (f: Factory<FakeConfig, Component>) => f as unknown as Factory<unknown, Component>;
  const preflight = (config: FakeConfig) => {
    if (config.fail_preflight) throw new Error('needs a capability it does not have');
  };
  const source: Factory<FakeConfig, Component> = {
    type: 'source',
    kind: 'receiver',
    configSchema: fakeSchema,
    preflight,
    create(settings, config, next) {
      journal.created.push(settings.id);
      const base = lifecycle(settings.id, config, journal);
      return {
        async start() {
          await base.start();
          // A receiver pushes as soon as it runs; its consumers must be ready by then.
          await next.consume(data(config.tag || settings.id));
        },
        shutdown: base.shutdown,
        healthy: () => config.unhealthy || true,
      };
    },
  };
  const watcher: Factory<FakeConfig, Component> = {
    type: 'watcher',
    kind: 'extension',
    configSchema: fakeSchema,
    create(settings, config) {
      journal.created.push(settings.id);
      const base = lifecycle(settings.id, config, journal);
      const host = settings.host!;
      journal.hosts.push(host);
      return {
        async start() {
          await base.start();
          journal.healthAtStart.push(host.health());
        },
        shutdown: base.shutdown,
      };
    },
  };
  const tagger: Factory<FakeConfig, Component & MetricsConsumer> = {
    type: 'tagger',
    kind: 'processor',
    configSchema: fakeSchema,
    create(settings, config, next) {
      journal.created.push(settings.id);
      return {
        ...lifecycle(settings.id, config, journal),
        consume: (metrics) => next.consume(data(`${payload(metrics)}+${config.tag}`)),
      };
    },
  };
  const sink: Factory<FakeConfig, Component & MetricsConsumer> = {
    type: 'sink',
    kind: 'exporter',
    configSchema: fakeSchema,
    preflight,
    create(settings, config) {
      journal.created.push(settings.id);
      let started = false;
      const base = lifecycle(settings.id, config, journal);
      return {
        async start() {
          await base.start();
          started = true;
        },
        shutdown: base.shutdown,
        async consume(metrics) {
          if (!started) throw new Error(`${settings.id} got data before it started`);
          journal.events.push(`consume ${settings.id} <- ${payload(metrics)}`);
          journal.received.set(settings.id, [...(journal.received.get(settings.id) ?? []), payload(metrics)]);
        },
      };
    },
  };
  return {
    receiver: [erase(source)],
    processor: [erase(tagger as Factory<FakeConfig, Component>)],
    exporter: [erase(sink as Factory<FakeConfig, Component>)],
    extension: [erase(watcher)],
  };
}

function setUp(yaml: string) {
  const journal = new Journal();
  const config = parseConfig(yaml, fakeRegistry(journal), {});
  const { logger, lines } = recordingLogger();
  return { journal, lines, service: new Service(config, logger, testResource) };
}

type Components = Record<string, Record<string, unknown> | null>;

/**
 * A config with one metrics pipeline from `receivers` to `exporters`, and `extensions` started
 * with it: each maps a component id to its settings, null for the defaults.
 */
function onePipeline(receivers: Components, exporters: Components, extensions: Components = {}): string {
  const pipelines = { metrics: { receivers: Object.keys(receivers), exporters: Object.keys(exporters) } };
  if (Object.keys(extensions).length === 0) return stringify({ receivers, exporters, service: { pipelines } });
  return stringify({ extensions, receivers, exporters, service: { extensions: Object.keys(extensions), pipelines } });
}

describe('Service', () => {
  it('starts exporters, then receivers, and shuts down in reverse', async () => {
    const { journal, service } = setUp(
      onePipeline({ 'source/a': null, 'source/b': null }, { 'sink/x': null, 'sink/y': null }),
    );
    await service.start();
    expect(journal.events).toEqual([
      'start exporters.sink/x',
      'start exporters.sink/y',
      'start receivers.source/a',
      'consume exporters.sink/x <- receivers.source/a',
      'consume exporters.sink/y <- receivers.source/a',
      'start receivers.source/b',
      'consume exporters.sink/x <- receivers.source/b',
      'consume exporters.sink/y <- receivers.source/b',
    ]);
    journal.events.length = 0;
    await service.shutdown();
    expect(journal.events).toEqual([
      'shutdown receivers.source/b',
      'shutdown receivers.source/a',
      'shutdown exporters.sink/y',
      'shutdown exporters.sink/x',
    ]);
    journal.events.length = 0;
    await service.shutdown();
    expect(journal.events).toEqual([]);
  });

  it('starts the listed extensions before the pipelines and stops them after; others are not created', async () => {
    const { journal, service, lines } = setUp(`
extensions:
  watcher:
  watcher/unlisted:
receivers:
  source:
exporters:
  sink:
service:
  extensions: [watcher]
  pipelines:
    metrics:
      receivers: [source]
      exporters: [sink]
`);
    await service.start();
    expect(journal.created).toEqual(['exporters.sink', 'receivers.source', 'extensions.watcher']);
    expect(journal.events).toEqual([
      'start extensions.watcher',
      'start exporters.sink',
      'start receivers.source',
      'consume exporters.sink <- receivers.source',
    ]);
    expect(lines.some((l) => l.includes('extensions.watcher/unlisted') && l.includes('not started'))).toBe(true);
    journal.events.length = 0;
    await service.shutdown();
    expect(journal.events).toEqual([
      'shutdown receivers.source',
      'shutdown exporters.sink',
      'shutdown extensions.watcher',
    ]);
  });

  it('is healthy only while every pipeline runs and every component says it is healthy', async () => {
    const healthy = setUp(onePipeline({ source: null }, { sink: null }, { watcher: null }));
    expect(healthy.service.health()).toBe('the pipelines are starting');
    await healthy.service.start();
    expect(healthy.journal.healthAtStart).toEqual(['the pipelines are starting']);
    expect(healthy.journal.hosts[0]!.health()).toBe(true);
    await healthy.service.shutdown();
    expect(healthy.service.health()).toBe('shutting down');

    const sick = setUp(onePipeline({ source: { unhealthy: 'stopped reading' } }, { sink: null }));
    await sick.service.start();
    expect(sick.service.health()).toBe('receivers.source: stopped reading');
    await sick.service.shutdown();
  });

  it('shuts down what started when a component fails to start, and names it', async () => {
    const { journal, service } = setUp(
      onePipeline({ source: { fail_start: true } }, { 'sink/a': null, 'sink/b': null }),
    );
    await expect(service.start()).rejects.toThrow('receivers.source: cannot start: fake failure');
    expect(journal.events).toEqual([
      'start exporters.sink/a',
      'start exporters.sink/b',
      'start receivers.source',
      'shutdown exporters.sink/b',
      'shutdown exporters.sink/a',
    ]);
  });

  it('stops at the first exporter that fails, before any receiver', async () => {
    const { journal, service } = setUp(
      onePipeline({ source: null }, { 'sink/a': null, 'sink/b': { fail_start: true }, 'sink/c': null }),
    );
    await expect(service.start()).rejects.toThrow('exporters.sink/b: cannot start: fake failure');
    expect(journal.events).toEqual(['start exporters.sink/a', 'start exporters.sink/b', 'shutdown exporters.sink/a']);
  });

  it('starts nothing when a preflight check fails', async () => {
    const { journal, service } = setUp(onePipeline({ source: { fail_preflight: true } }, { sink: null }));
    await expect(service.start()).rejects.toThrow('receivers.source: needs a capability it does not have');
    expect(journal.created).toEqual([]);
    expect(journal.events).toEqual([]);
  });

  it('keeps shutting down after one component fails to stop, and logs it', async () => {
    const { journal, lines, service } = setUp(onePipeline({ source: { fail_shutdown: true } }, { sink: null }));
    await service.start();
    await service.shutdown();
    expect(journal.events.slice(-2)).toEqual(['shutdown receivers.source', 'shutdown exporters.sink']);
    expect(
      lines.some((l) => l.includes('shutdown failed component=receivers.source error="cannot stop: fake failure"')),
    ).toBe(true);
  });

  it('neither creates nor starts components no pipeline uses, and says so', async () => {
    const { journal, lines, service } = setUp(`
receivers:
  source:
  source/idle:
    fail_start: true
exporters:
  sink:
  sink/idle:
    fail_preflight: true
service:
  pipelines:
    metrics:
      receivers: [source]
      exporters: [sink]
`);
    await service.start();
    expect(journal.created.sort()).toEqual(['exporters.sink', 'receivers.source']);
    const log = lines.join('');
    expect(log).toContain('not used by any pipeline, so not started component=receivers.source/idle');
    expect(log).toContain('not used by any pipeline, so not started component=exporters.sink/idle');
    await service.shutdown();
  });

  it('creates a receiver shared by two pipelines once and feeds both', async () => {
    const { journal, service } = setUp(`
receivers:
  source:
    tag: drops
exporters:
  sink/a:
  sink/b:
service:
  pipelines:
    metrics/a:
      receivers: [source]
      exporters: [sink/a]
    metrics/b:
      receivers: [source]
      exporters: [sink/b]
`);
    await service.start();
    expect(journal.created.filter((id) => id.startsWith('receivers.'))).toEqual(['receivers.source']);
    expect(Object.fromEntries(journal.received)).toEqual({
      'exporters.sink/a': ['drops'],
      'exporters.sink/b': ['drops'],
    });
    await service.shutdown();
  });

  it('creates an exporter shared by two pipelines once', async () => {
    const { journal, service } = setUp(`
receivers:
  source/a:
  source/b:
exporters:
  sink:
service:
  pipelines:
    metrics/a:
      receivers: [source/a]
      exporters: [sink]
    metrics/b:
      receivers: [source/b]
      exporters: [sink]
`);
    await service.start();
    expect(journal.created.filter((id) => id.startsWith('exporters.'))).toEqual(['exporters.sink']);
    expect(journal.received.get('exporters.sink')).toEqual(['receivers.source/a', 'receivers.source/b']);
    await service.shutdown();
  });

  it('runs data through each pipeline’s own processors, in order, and starts them before receivers', async () => {
    const { journal, service } = setUp(`
receivers:
  source:
    tag: raw
processors:
  tagger/one:
    tag: one
  tagger/two:
    tag: two
exporters:
  sink/a:
  sink/b:
service:
  pipelines:
    metrics/a:
      receivers: [source]
      processors: [tagger/one, tagger/two]
      exporters: [sink/a]
    metrics/b:
      receivers: [source]
      processors: [tagger/two]
      exporters: [sink/b]
`);
    await service.start();
    expect(Object.fromEntries(journal.received)).toEqual({
      'exporters.sink/a': ['raw+one+two'],
      'exporters.sink/b': ['raw+two'],
    });
    expect(journal.created.filter((id) => id.startsWith('processors.'))).toHaveLength(3);
    const starts = journal.events.filter((e) => e.startsWith('start '));
    expect(starts.indexOf('start receivers.source')).toBe(starts.length - 1);
    expect(starts.slice(0, 2)).toEqual(['start exporters.sink/a', 'start exporters.sink/b']);
    await service.shutdown();
    const stops = journal.events.filter((e) => e.startsWith('shutdown '));
    expect(stops[0]).toBe('shutdown receivers.source');
    expect(stops.slice(-2)).toEqual(['shutdown exporters.sink/b', 'shutdown exporters.sink/a']);
  });
});
