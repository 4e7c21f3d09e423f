/**
 * The otlphttp exporter against a real OTLP/HTTP server in this process, which decodes
 * every request with the official OTLP .proto files.
 *
 * As root, end to end: the real CLI counts drops made in a network namespace and posts
 * them over OTLP/HTTP; what the server receives must match the iptables rule counters,
 * also after the server was down. Without root, the exporter alone against the server:
 * encodings, compressions, headers, the path rule, and which answers are retried.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it, onTestFinished } from 'vitest';

import { configSchema, type OtlpHttpConfig } from '../../src/exporters/otlphttp/config.js';
import { OtlpHttpExporter } from '../../src/exporters/otlphttp/exporter.js';
import { VERSION } from '../../src/version.js';
import { dropBatch, recordingLogger, settingsFor } from '../unit/support.js';
import { Agent, isRoot, sleep } from './harness/agent.js';
import {
  attributes,
  OtlpHttpServer,
  requestsWith,
  RULE_DROPS,
  settleTotals,
  sumPoints,
  sumValue,
} from './harness/otlp_server.js';
import { testCertificate } from './harness/certificate.js';
import { NetnsPair, ruleCounters } from './harness/topology.js';
import { parseSettings } from '../unit/componentconfig.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const { count: COUNT, bytes: BYTES, labels: LABELS } = RULE_DROPS;
const PAYLOAD = 100;
const INTERVAL_MS = 500;

if (!isRoot)
  console.log('skipping the OTLP/HTTP end-to-end tests: they need root to load eBPF and make network namespaces');

const withSeries = (server: OtlpHttpServer) => requestsWith(server, RULE_DROPS);
const settle = (server: OtlpHttpServer, packets: number) => settleTotals(server, RULE_DROPS, packets, INTERVAL_MS);

const lines = (text: string, what: string) => text.split('\n').filter((l) => l.includes(what));

describe.skipIf(!isRoot)('otlphttp exporter end to end on the real kernel', () => {
  it('posts totals equal to the kernel counters, keeps counting through a 15 s outage, and catches up after it', async () => {
    const pair = NetnsPair.forTest('otlphttp');
    pair.exec(pair.a, 'iptables', ['-w', '-A', 'OUTPUT', '-d', pair.addrB, '-p', 'udp', '--dport', '9', '-j', 'DROP']);
    const server = await OtlpHttpServer.start();
    onTestFinished(() => server.stop());
    // As a Collector README writes it: the base URL, /v1/metrics appended.
    const agent = await Agent.startForTest(
      `receivers:
  dropreason:
    collection_interval: ${INTERVAL_MS}ms
    netns: ${pair.netnsPath(pair.a)}
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${server.port}
    timeout: 5s
    retry_on_failure:
      initial_interval: 500ms
      max_interval: 2s
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [otlphttp]
`,
      server.port,
    );
    const drop = (n: number) => {
      const out = JSON.parse(
        pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(n), String(PAYLOAD)]),
      ) as { outcomes: Record<string, number> };
      expect(out.outcomes).toEqual({ EPERM: n });
      return ruleCounters(pair, pair.a, 'OUTPUT');
    };

    const rule = drop(83);
    expect(rule.packets).toBe(83);
    expect(await settle(server, rule.packets)).toEqual(rule);
    const first = withSeries(server).at(-1)!;
    // The Collector's defaults: protobuf, gzip.
    expect(first.headers['content-type']).toBe('application/x-protobuf');
    expect(first.headers['content-encoding']).toBe('gzip');
    expect(first.headers['user-agent']).toBe(`dropreason/${VERSION}`);
    const { metric } = sumPoints(first.request, COUNT).find((p) => attributes(p.point.attributes)['reason'])!;
    expect(metric.sum!.aggregation_temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
    expect(lines(agent.stderr, 'export failing')).toEqual([]);

    await server.stop();
    const down = Date.now();
    await sleep(2_000);
    const during = drop(40);
    expect(during.packets).toBe(123);
    await sleep(Math.max(0, 15_000 - (Date.now() - down)));
    await server.listen();

    expect(await settle(server, during.packets)).toEqual(during);
    const failing = lines(agent.stderr, 'export failing');
    expect(failing).toHaveLength(1);
    // Refused, or reset when a kept-alive connection was reused before its close was seen
    // (a slow machine sends on it first).
    expect(failing[0]).toMatch(/will retry .*code=(ECONNREFUSED|ECONNRESET)/);
    expect(lines(agent.stderr, 'export recovered')).toHaveLength(1);
    expect(lines(agent.stderr, 'queue full')).toEqual([]);
  }, 300_000); // a 15 s outage, and the agent under the kernel matrix's emulation
});

function exporterConfig(server: OtlpHttpServer, settings: Record<string, unknown> = {}): OtlpHttpConfig {
  return parseSettings(configSchema, 'otlphttp', {
    endpoint: `http://127.0.0.1:${server.port}`,
    timeout: '2s',
    retry_on_failure: { initial_interval: '100ms', max_interval: '200ms' },
    ...settings,
  });
}

const batch = dropBatch;

describe('otlphttp exporter against a real HTTP server', () => {
  async function exportOnce(settings: Record<string, unknown>, packets: number, serverPath?: string) {
    const server = await OtlpHttpServer.start(0, serverPath);
    onTestFinished(() => server.stop());
    const exporter = new OtlpHttpExporter(settingsFor('exporters.otlphttp'), exporterConfig(server, settings));
    onTestFinished(() => exporter.shutdown());
    await exporter.start();
    await exporter.consume([await batch(packets)]);
    await server.waitFor('the export', (r) => r.length === 1);
    return server.received[0]!;
  }

  for (const [encoding, contentType] of [
    ['proto', 'application/x-protobuf'],
    ['json', 'application/json'],
  ] as const) {
    for (const [compression, contentEncoding] of [
      ['gzip', 'gzip'],
      ['zstd', 'zstd'],
      ['deflate', 'deflate'],
      ['none', undefined],
    ] as const) {
      it(`sends ${encoding} ${compression === 'none' ? 'uncompressed' : `with ${compression}`}`, async () => {
        const got = await exportOnce({ encoding, compression }, 11);
        expect(got.headers['content-type']).toBe(contentType);
        expect(got.headers['content-encoding']).toBe(contentEncoding);
        expect(sumValue(got.request, COUNT, LABELS)).toBe(11);
        expect(sumValue(got.request, BYTES, LABELS)).toBe(11 * 128);
      });
    }
  }

  it('sends the configured headers, to metrics_endpoint as written', async () => {
    const server = await OtlpHttpServer.start(0, '/otlp/metrics');
    onTestFinished(() => server.stop());
    const got = await (async () => {
      const exporter = new OtlpHttpExporter(
        settingsFor('exporters.otlphttp'),
        exporterConfig(server, {
          endpoint: undefined,
          metrics_endpoint: `http://127.0.0.1:${server.port}/otlp/metrics`,
          headers: { 'X-API-Key': 'secret', 'x-scope-orgid': 'blue' },
        }),
      );
      onTestFinished(() => exporter.shutdown());
      await exporter.start();
      await exporter.consume([await batch(5)]);
      await server.waitFor('the export', (r) => r.length === 1);
      return server.received[0]!;
    })();
    expect(got.headers).toMatchObject({ 'x-api-key': 'secret', 'x-scope-orgid': 'blue' });
    expect(sumValue(got.request, COUNT, LABELS)).toBe(5);
  });

  it('waits as long as Retry-After says on 429 and 503, then sends', async () => {
    const server = await OtlpHttpServer.start();
    onTestFinished(() => server.stop());
    server.behaviour = { kind: 'status', status: 429, times: 1, retryAfter: '2' };
    const { logger, lines: log } = recordingLogger();
    const exporter = new OtlpHttpExporter(settingsFor('exporters.otlphttp', logger), exporterConfig(server));
    onTestFinished(() => exporter.shutdown());
    await exporter.start();
    await exporter.consume([await batch(9)]);
    await server.waitFor('the retry', (r) => r.some((x) => x.answer === 'OK'), 30_000);
    const [refused, sent] = server.received;
    expect(refused!.answer).toBe('HTTP 429');
    // The backoff alone (100-200 ms) would have retried long before.
    expect(sent!.at - refused!.at).toBeGreaterThanOrEqual(2_000);
    expect(sumValue(sent!.request, COUNT, LABELS)).toBe(9);
    expect(log.filter((l) => l.includes('export failing'))[0]).toContain('code="HTTP 429"');
  });

  it('retries 502, 503 and 504, and not 400, 401, 403, 404 or 500, as the Collector', async () => {
    for (const [status, retried] of [
      [502, true],
      [503, true],
      [504, true],
      [400, false],
      [401, false],
      [403, false],
      [404, false],
      [500, false],
    ] as const) {
      const server = await OtlpHttpServer.start();
      onTestFinished(() => server.stop());
      server.behaviour = { kind: 'status', status, times: 1 };
      const exporter = new OtlpHttpExporter(
        settingsFor('exporters.otlphttp'),
        exporterConfig(server, { sending_queue: { wait_for_result: true } }),
      );
      onTestFinished(() => exporter.shutdown());
      await exporter.start();
      await exporter.consume([await batch(status)]); // returns once sent or given up on
      expect(
        server.received.map((r) => r.answer),
        `status ${status}`,
      ).toEqual(retried ? [`HTTP ${status}`, 'OK'] : [`HTTP ${status}`]);
      expect(exporter.stats().dataPointsDropped, `status ${status}`).toBe(retried ? 0 : 2);
      await exporter.shutdown();
      await server.stop();
    }
  });

  it('appends /v1/metrics to endpoint, with or without its trailing slash', async () => {
    for (const suffix of ['', '/']) {
      const server = await OtlpHttpServer.start(0, '/base/v1/metrics');
      onTestFinished(() => server.stop());
      const exporter = new OtlpHttpExporter(
        settingsFor('exporters.otlphttp'),
        exporterConfig(server, { endpoint: `http://127.0.0.1:${server.port}/base${suffix}` }),
      );
      onTestFinished(() => exporter.shutdown());
      await exporter.start();
      await exporter.consume([await batch(3)]);
      await server.waitFor('the export', (r) => r.some((x) => x.answer === 'OK'));
      await exporter.shutdown();
      await server.stop();
    }
  });

  describe('over HTTPS', () => {
    const tls = testCertificate(['localhost', 'collector.internal']);
    if (!tls) console.log('skipping the OTLP/HTTP TLS tests: openssl could not make a test certificate');
    afterAll(() => {
      if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
    });

    async function exportOver(settings: Record<string, unknown>) {
      const server = await OtlpHttpServer.start(0, '/v1/metrics', { tls: tls! });
      onTestFinished(() => server.stop());
      const { logger, lines: log } = recordingLogger();
      const exporter = new OtlpHttpExporter(
        settingsFor('exporters.otlphttp', logger),
        exporterConfig(server, { endpoint: `https://127.0.0.1:${server.port}`, ...settings }),
      );
      onTestFinished(() => exporter.shutdown());
      await exporter.start();
      await exporter.consume([await batch(6)]);
      return { server, exporter, log };
    }

    it.skipIf(!tls)('verifies the server with ca_file, ca_pem, or the name in server_name_override', async () => {
      for (const settings of [
        { tls: { ca_file: tls!.certFile } },
        { tls: { ca_pem: tls!.cert.toString() } },
        { tls: { ca_file: tls!.certFile, server_name_override: 'collector.internal', min_version: '1.3' } },
      ]) {
        const { server, exporter } = await exportOver(settings);
        await server.waitFor('the export', (r) => r.length === 1);
        expect(sumValue(server.received[0]!.request, COUNT, LABELS)).toBe(6);
        await exporter.shutdown();
        await server.stop();
      }
    });

    it.skipIf(!tls)('sends nothing to a server it cannot verify, unless insecure_skip_verify', async () => {
      const { server, exporter, log } = await exportOver({ tls: {} }); // the system CAs do not know the test certificate
      const failed = () => log.some((l) => l.includes('export failing'));
      for (let i = 0; i < 200 && !failed(); i++) await sleep(50);
      expect(log.find((l) => l.includes('export failing'))).toMatch(/certificate/i);
      expect(server.received).toEqual([]);
      await exporter.shutdown();
      await server.stop();

      const verified = await exportOver({ tls: { insecure_skip_verify: true } });
      await verified.server.waitFor('the export', (r) => r.length === 1);
      expect(sumValue(verified.server.received[0]!.request, COUNT, LABELS)).toBe(6);
    });
  });
});
