/**
 * Samples of drops over OTLP/HTTP, on the real kernel: the test sends many more UDP
 * packets than the budget allows to a port an iptables rule drops, in a network namespace
 * pair; the agent's otlphttp exporter posts the samples to /v1/logs of an OTLP/HTTP server
 * in this process, which decodes them with the official .proto files (protobuf or OTLP
 * JSON), and the debug exporter prints them beside. Each sample must describe a packet the
 * test sent, there must be no more than the budget allows, the samples delivered plus
 * those refused or lost must be every packet the rule dropped (iptables' counter), and the
 * agent's count of log records sent must be what the server received.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { Agent, freePort, isRoot, parseMetrics, sleep, sumSeries } from './harness/agent.js';
import { logRecords, OtlpHttpServer } from './harness/otlp_server.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const N = 300;
const PER_SECOND = 5;
const PAYLOAD = 101;
/** IPv4 header + UDP header + payload: INPUT sees the whole IP packet. */
const LENGTH = 20 + 8 + PAYLOAD;
const REASON = 'IPTABLE_RULE_DROP';

if (!isRoot)
  console.log('skipping the OTLP/HTTP samples tests: they need root to load eBPF and make network namespaces');

function config(ports: { prometheus: number; self: number; http: number }, netns: string, encoding: string): string {
  return `receivers:
  dropreason:
    collection_interval: 500ms
    netns: ${netns}
    samples_per_second: ${PER_SECOND}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${ports.prometheus}
  otlphttp:
    endpoint: http://127.0.0.1:${ports.http}
    encoding: ${encoding}
    timeout: 10s
  debug:
service:
  telemetry:
    metrics:
      level: normal
      address: 127.0.0.1:${ports.self}
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [prometheus, otlphttp]
    logs:
      receivers: [dropreason]
      exporters: [otlphttp, debug]
`;
}

describe.skipIf(!isRoot)('samples of drops over OTLP/HTTP on the real kernel', () => {
  let pair: NetnsPair | undefined;
  let agent: Agent | undefined;
  let server: OtlpHttpServer | undefined;

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await server?.stop();
    server = undefined;
    pair?.destroy();
    pair = undefined;
  });

  it.each(['proto', 'json'])(
    'encoding %s: the samples posted to /v1/logs describe the packets sent, within the budget, and are counted as sent',
    async (encoding) => {
      pair = new NetnsPair('smh').create();
      const port = 7000 + (process.pid % 1000);
      dropUdpRule(pair, 'INPUT', port);
      server = await OtlpHttpServer.start();
      const ports = { prometheus: await freePort(), self: await freePort(), http: server.port };
      agent = await Agent.start(config(ports, pair.netnsPath(pair.b), encoding), ports.prometheus);

      pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, String(port), String(N), String(PAYLOAD)]);
      const dropped = ruleCounters(pair, pair.b, 'INPUT').packets;
      expect(dropped).toBe(N);

      // Every drop ends up delivered, refused or lost, and what is delivered is sent.
      const accounted = async () => {
        const self = parseMetrics(await agent!.scrapeText(ports.self));
        return {
          samples: logRecords(server!.logs).filter((r) => r.attributes['dropreason.reason'] === REASON),
          records: logRecords(server!.logs).length,
          delivered: sumSeries(self, 'dropreason_agent_samples_delivered_total', {}),
          refused: sumSeries(self, 'dropreason_agent_samples_refused_total', { reason: REASON }),
          lost: sumSeries(self, 'dropreason_agent_samples_lost_total', {}),
          sent: sumSeries(self, 'dropreason_agent_exporter_sent_log_records_total', { exporter: 'otlphttp' }),
          failed: sumSeries(self, 'dropreason_agent_exporter_send_failed_log_records_total', { exporter: 'otlphttp' }),
        };
      };
      const deadline = Date.now() + 30_000;
      let seen = await accounted();
      while (
        (seen.samples.length + seen.refused + seen.lost < dropped || seen.sent < seen.delivered) &&
        Date.now() < deadline
      ) {
        await sleep(200);
        seen = await accounted();
      }
      const { samples, refused, lost } = seen;
      expect(samples.length + refused + lost).toBe(dropped);
      expect(lost).toBe(0);
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.length).toBeLessThan(N);
      // The exporter's own count: every record the server holds, none failed.
      expect(seen.sent).toBe(seen.records);
      expect(seen.failed).toBe(0);

      // The budget: at most PER_SECOND per epoch, and epochs last at least a second.
      const times = samples.map((s) => s.timeUnixNano);
      const span = Number(times.reduce((a, b) => (b > a ? b : a)) - times.reduce((a, b) => (b < a ? b : a)));
      expect(samples.length).toBeLessThanOrEqual(PER_SECOND * (Math.floor(span / 1e9) + 2));

      const netns = fs.statSync(pair.netnsPath(pair.b)).ino;
      for (const s of samples) {
        expect(s.attributes).toMatchObject({
          'dropreason.reason': REASON,
          'dropreason.direction': 'ingress',
          'network.type': 'ipv4',
          'network.transport': 'udp',
          'source.address': pair.addrA,
          'destination.address': pair.addrB,
          'destination.port': String(port),
          'dropreason.packet.length': String(LENGTH),
          'dropreason.netns.inode': String(netns),
        });
        expect(Number(s.attributes['source.port'])).toBeGreaterThan(0);
        expect(s.body).toContain(`${REASON} ingress udp ${pair.addrA}:`);
      }

      // The debug exporter printed the same records: one line per sample, its body.
      await agent.stop();
      const printed = agent.stdout.split('\n').filter((l) => l.includes(` drop ${REASON} ingress udp `));
      const bodies = logRecords(server.logs)
        .filter((r) => r.attributes['dropreason.reason'] === REASON)
        .map((r) => r.body);
      expect(printed.map((l) => l.slice(l.indexOf(' drop ') + 1)).sort()).toEqual(bodies.sort());
    },
    240_000,
  );
});
