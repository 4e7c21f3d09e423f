/**
 * The otlp exporter against a real OTLP/gRPC server in this process, which decodes every
 * request with the official OTLP .proto files.
 *
 * As root, end to end: the real CLI counts drops made in a network namespace and sends
 * them over OTLP; what the server receives must match the iptables rule counters, also
 * after the server was down, slow, or answering errors. Without root, the exporter alone
 * is checked against the server: reconnecting after an outage, and TLS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { status } from '@grpc/grpc-js';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';

import { configSchema, type OtlpConfig } from '../../src/exporters/otlp/config.js';
import { OtlpExporter } from '../../src/exporters/otlp/exporter.js';
import { VERSION } from '../../src/version.js';
import { dropBatch, recordingLogger, settingsFor } from '../unit/support.js';
import { Agent, isRoot, sleep } from './harness/agent.js';
import {
  attributes,
  latestTotals,
  type NumberDataPoint,
  OtlpServer,
  type Received,
  requestsWith,
  RULE_DROPS,
  settleTotals,
  sumPoints,
  sumValue,
} from './harness/otlp_server.js';
import { testCertificate } from './harness/certificate.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';
import { parseSettings } from '../unit/componentconfig.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const { count: COUNT, bytes: BYTES, labels: LABELS } = RULE_DROPS;
const PAYLOAD = 100;
const INTERVAL_MS = 500;

if (!isRoot) console.log('skipping the OTLP end-to-end tests: they need root to load eBPF and make network namespaces');

/**
 * The exporter's settings in these tests: fast retries, and a deadline long enough for the
 * first connection in a software-emulated guest (seen taking over 2 s) unless a test needs
 * a short one.
 */
function exporterSettings(timeout: string): string {
  return `    tls:
      insecure: true
    timeout: ${timeout}
    retry_on_failure:
      initial_interval: 500ms
      max_interval: 2s`;
}

function agentConfig(port: number, netns: string, timeout = '10s'): string {
  return `receivers:
  dropreason:
    collection_interval: ${INTERVAL_MS}ms
    netns: ${netns}
exporters:
  otlp:
    endpoint: 127.0.0.1:${port}
${exporterSettings(timeout)}
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [otlp]
`;
}

const withSeries = (server: OtlpServer) => requestsWith(server, RULE_DROPS);

/** The test series' dropreason.drop.count points in these requests. */
function seriesPoints(requests: Received[]): NumberDataPoint[] {
  return requests.flatMap((r) =>
    sumPoints(r.request, COUNT)
      .map((p) => p.point)
      .filter((p) => attributes(p.attributes)['reason'] === LABELS.reason),
  );
}

const latest = (server: OtlpServer) => latestTotals(server, RULE_DROPS);
const settle = (server: OtlpServer, packets: number) => settleTotals(server, RULE_DROPS, packets, INTERVAL_MS);

const lines = (text: string, what: string) => text.split('\n').filter((l) => l.includes(what));

describe.skipIf(!isRoot)('otlp exporter end to end on the real kernel', () => {
  async function setUp(tag: string, timeout?: string) {
    const pair = NetnsPair.forTest(tag);
    dropUdpRule(pair, 'OUTPUT', 9);
    const server = await OtlpServer.start();
    onTestFinished(() => server.stop());
    const agent = await Agent.startForTest(agentConfig(server.port, pair.netnsPath(pair.a), timeout), server.port);
    return { pair, agent, server };
  }

  /** Sends `n` UDP datagrams that the OUTPUT rule drops; returns the rule's counters after. */
  function drop(pair: NetnsPair, n: number) {
    const out = JSON.parse(
      pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(n), String(PAYLOAD)]),
    ) as { outcomes: Record<string, number> };
    expect(out.outcomes).toEqual({ EPERM: n }); // every datagram reached the DROP rule
    return ruleCounters(pair, pair.a, 'OUTPUT');
  }

  it('exports the drop counters as cumulative sums equal to the kernel counters, and catches up after the backend was down for 30 s', async () => {
    const { pair, agent, server } = await setUp('otlp');
    const rule = drop(pair, 137);
    expect(rule.packets).toBe(137);
    expect(await settle(server, rule.packets)).toEqual(rule);

    // The shape of what arrived, from the official protobuf definitions.
    const requests = withSeries(server);
    const last = requests.at(-1)!.request;
    expect(last.resource_metrics).toHaveLength(1);
    const resource = attributes(last.resource_metrics[0]!.resource.attributes);
    expect(resource).toMatchObject({
      'service.name': 'dropreason',
      'service.version': VERSION,
      'host.name': os.hostname(),
      'os.type': 'linux',
    });
    for (const [name, unit] of [
      [COUNT, '{packet}'],
      [BYTES, 'By'],
    ] as const) {
      // The rule's series; the kernel may drop the odd packet of its own in the namespace.
      const found = sumPoints(last, name).find((p) => attributes(p.point.attributes)['reason'] === LABELS.reason);
      expect(found).toBeDefined();
      const { metric, point } = found!;
      expect(metric.unit).toBe(unit);
      expect(metric.data).toBe('sum');
      expect(metric.sum!.is_monotonic).toBe(true);
      expect(metric.sum!.aggregation_temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
      // The drop's location is the function that freed it (location.test.ts checks which).
      const { location, ...rest } = attributes(point.attributes);
      expect(rest).toEqual(LABELS);
      expect(location).toMatch(/^[A-Za-z_][\w.]*$/); // nf_hook_slow.cold and the like too
    }
    // One start time for the series, in every export, never after the point's time.
    const points = seriesPoints(requests);
    const starts = new Set(points.map((p) => p.start_time_unix_nano));
    expect(starts.size).toBe(1);
    const start = BigInt([...starts][0]!);
    expect(start).toBeGreaterThan(0n);
    for (const p of points) expect(start <= BigInt(p.time_unix_nano)).toBe(true);
    expect(lines(agent.stderr, 'export failing')).toEqual([]);

    // The backend goes away for 30 s; the agent keeps counting meanwhile.
    await server.stop();
    const down = Date.now();
    await sleep(2_000);
    const during = drop(pair, 50);
    expect(during.packets).toBe(187);
    await sleep(Math.max(0, 30_000 - (Date.now() - down)));
    const before = server.received.length;
    await server.listen(); // the same port
    const back = Date.now();

    const after = await settle(server, during.packets);
    expect(after).toEqual(during);
    const firstBack = server.received.slice(before).find((r) => r.answer === 'OK')!;
    expect(firstBack.at - back).toBeLessThan(5_000); // reconnects within max_interval (2 s) and a retry
    // Every export after the outage carries totals since the start: never less than before it.
    const backValues = withSeries(server)
      .filter((r) => server.received.indexOf(r) >= before)
      .map((r) => sumValue(r.request, COUNT, LABELS)!);
    expect(backValues[0]).toBeGreaterThanOrEqual(137);
    expect(backValues).toEqual([...backValues].sort((a, b) => a - b));
    // The same start time as before the outage: the series was not restarted.
    expect(new Set(seriesPoints(withSeries(server)).map((p) => p.start_time_unix_nano))).toEqual(starts);

    // One line when exporting started failing, one when it recovered: not one per attempt.
    const failing = lines(agent.stderr, 'export failing');
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatch(/will retry .*code=(UNAVAILABLE|CANCELLED)/);
    const recovered = lines(agent.stderr, 'export recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toContain('dropped_batches=0');
    expect(lines(agent.stderr, 'queue full')).toEqual([]);
  }, 300_000); // a 30 s outage, and the agent under the kernel matrix's emulation

  it('sends the last totals when stopped', async () => {
    const { pair, agent, server } = await setUp('otlpstop');
    const rule = drop(pair, 61);
    expect(await agent.stop()).toBe(0); // at once: the receiver pushes its last read, the exporter flushes it
    expect(latest(server), `the agent's log:\n${agent.stderr}`).toEqual(rule);
    expect(lines(agent.stderr, 'unsent')).toEqual([]);
  });

  it('gets the totals right after a backend that answered later than the timeout', async () => {
    const { pair, agent, server } = await setUp('otlpslow', '3s');
    server.behaviour = { kind: 'slow', delayMs: 6_000 }; // twice the exporter's timeout
    const rule = drop(pair, 91);
    await server.waitFor('a few late answers', (r) => r.filter((x) => x.answer === 'OK (late)').length >= 3);
    server.behaviour = { kind: 'ok' };
    expect(await settle(server, rule.packets)).toEqual(rule);
    expect(lines(agent.stderr, 'export failing')).toHaveLength(1);
    expect(lines(agent.stderr, 'export failing')[0]).toContain('code=DEADLINE_EXCEEDED');
    expect(lines(agent.stderr, 'export recovered')).toHaveLength(1);
  });

  it('retries UNAVAILABLE answers, and gets the totals right once the backend answers OK', async () => {
    const { pair, agent, server } = await setUp('otlperr');
    server.behaviour = { kind: 'error', code: status.UNAVAILABLE, times: 5 };
    const rule = drop(pair, 73);
    expect(await settle(server, rule.packets)).toEqual(rule);
    expect(server.received.filter((r) => r.answer === 'UNAVAILABLE')).toHaveLength(5);
    expect(lines(agent.stderr, 'export failing')).toHaveLength(1);
    expect(lines(agent.stderr, 'export failing')[0]).toContain('code=UNAVAILABLE');
    expect(lines(agent.stderr, 'export recovered')).toHaveLength(1);
  });

  it('does not retry data the backend refuses (INVALID_ARGUMENT), and recovers when it takes data again', async () => {
    const { pair, agent, server } = await setUp('otlpbad');
    server.behaviour = { kind: 'error', code: status.INVALID_ARGUMENT };
    const rule = drop(pair, 29);
    await sleep(3_000);
    server.behaviour = { kind: 'ok' };
    expect(await settle(server, rule.packets)).toEqual(rule);
    const refused = server.received.filter((r) => r.answer === 'INVALID_ARGUMENT');
    expect(refused.length).toBeGreaterThanOrEqual(4);
    // Each refused request was a different collection: none was sent again.
    const times = refused.map((r) => sumPoints(r.request, COUNT)[0]?.point.time_unix_nano ?? `empty ${r.at}`);
    expect(new Set(times).size).toBe(refused.length);
    expect(lines(agent.stderr, 'export rejected')).toHaveLength(1);
    expect(lines(agent.stderr, 'export rejected')[0]).toContain('code=INVALID_ARGUMENT');
    expect(lines(agent.stderr, 'export recovered')).toHaveLength(1);
  });
});

function exporterConfig(port: number, settings: Record<string, unknown> = {}): OtlpConfig {
  return parseSettings(configSchema, 'otlp', {
    endpoint: `127.0.0.1:${port}`,
    tls: { insecure: true },
    timeout: '1s',
    retry_on_failure: { initial_interval: '200ms', max_interval: '1s' },
    ...settings,
  });
}

const batch = dropBatch;

describe('otlp exporter against a real gRPC server', () => {
  it('reconnects within max_interval of the backend coming back after a long outage', async () => {
    const server = await OtlpServer.start();
    onTestFinished(() => server.stop());
    const { logger, lines: log } = recordingLogger();
    const exporter = new OtlpExporter(settingsFor('exporters.otlp', logger), exporterConfig(server.port));
    onTestFinished(() => exporter.shutdown());
    await exporter.start();
    await exporter.consume([await batch(1)]);
    await server.waitFor('the first export', (r) => r.length === 1);
    // The outage starts once the first export is answered: a loaded machine may have timed
    // it out and sent it again, an outage of its own.
    const answered = Date.now() + 10_000;
    while (exporter.stats().queued !== 0 && Date.now() < answered) await sleep(50);
    const before = log.length;
    await server.stop();
    // 20 s of failures: grpc-js's default reconnect backoff would have grown to ~10 s by now.
    const down = Date.now();
    let n = 2;
    while (Date.now() - down < 20_000) {
      await exporter.consume([await batch(n++)]);
      await sleep(500);
    }
    // One warning for the whole outage, not one per failed attempt. (Once the backend is
    // back, a loaded machine may time out a request again: that is a new outage.)
    expect(
      log.slice(before).filter((l) => l.includes('export failing')),
      log.join('\n'),
    ).toHaveLength(1);
    await server.listen();
    const back = Date.now();
    await exporter.consume([await batch(n)]);
    await server.waitFor('the newest batch', (r) => r.some((x) => sumValue(x.request, COUNT, LABELS) === n));
    const first = server.received.find((r) => r.at >= back)!;
    expect(first.at - back).toBeLessThan(3_000);
    // The server has the batch; the exporter takes it off its queue when the answer arrives.
    const settled = Date.now() + 10_000;
    while (exporter.stats().queued !== 0 && Date.now() < settled) await sleep(50);
    expect(exporter.stats()).toMatchObject({ dataPointsDropped: 0, queued: 0 });
    expect(
      log.some((l) => l.includes('export recovered')),
      log.join('\n'),
    ).toBe(true);
  }, 300_000);

  it('sends the configured headers and its user agent, gzip-compressed requests included', async () => {
    const server = await OtlpServer.start();
    onTestFinished(() => server.stop());
    const exporter = new OtlpExporter(
      settingsFor('exporters.otlp'),
      exporterConfig(server.port, { headers: { 'X-API-Key': 'secret', tenant: 'blue' }, compression: 'gzip' }),
    );
    onTestFinished(() => exporter.shutdown());
    await exporter.start();
    await exporter.consume([await batch(7)]);
    await server.waitFor('the export', (r) => r.length === 1);
    expect(server.received[0]!.metadata).toMatchObject({ 'x-api-key': 'secret', tenant: 'blue' });
    expect(server.received[0]!.metadata['user-agent']).toContain(`dropreason/${VERSION}`);
    expect(sumValue(server.received[0]!.request, COUNT, LABELS)).toBe(7);
  });

  describe('over TLS', () => {
    const tls = testCertificate(['localhost']);
    if (!tls) console.log('skipping the OTLP TLS tests: openssl could not make a test certificate');

    it.skipIf(!tls)('verifies the server with ca_file', async () => {
      const server = await OtlpServer.start(0, { tls: tls! });
      onTestFinished(() => server.stop());
      const exporter = new OtlpExporter(
        settingsFor('exporters.otlp'),
        exporterConfig(server.port, { tls: { ca_file: tls!.certFile } }),
      );
      onTestFinished(() => exporter.shutdown());
      await exporter.start();
      await exporter.consume([await batch(3)]);
      await server.waitFor('the export', (r) => r.length === 1);
      expect(sumValue(server.received[0]!.request, COUNT, LABELS)).toBe(3);
    });

    it.skipIf(!tls)('sends nothing to a server it cannot verify, unless insecure_skip_verify', async () => {
      const server = await OtlpServer.start(0, { tls: tls! });
      onTestFinished(() => server.stop());
      const { logger, lines: log } = recordingLogger();
      // The system CAs do not know the test certificate.
      let exporter = new OtlpExporter(
        settingsFor('exporters.otlp', logger),
        exporterConfig(server.port, { tls: {}, timeout: '500ms' }),
      );
      onTestFinished(() => exporter.shutdown());
      await exporter.start();
      await exporter.consume([await batch(3)]);
      const failed = () => log.some((l) => l.includes('export failing'));
      for (let i = 0; i < 100 && !failed(); i++) await sleep(50);
      expect(failed()).toBe(true);
      expect(log.find((l) => l.includes('export failing'))).toMatch(/certificate/);
      expect(server.received).toEqual([]);
      await exporter.shutdown();

      exporter = new OtlpExporter(
        settingsFor('exporters.otlp'),
        exporterConfig(server.port, { tls: { insecure_skip_verify: true } }),
      );
      await exporter.start();
      await exporter.consume([await batch(4)]);
      await server.waitFor('the export', (r) => r.length === 1);
      expect(sumValue(server.received[0]!.request, COUNT, LABELS)).toBe(4);
    });

    afterAll(() => {
      if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
    });
  });
});
