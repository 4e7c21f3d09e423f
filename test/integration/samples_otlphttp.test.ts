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

import { describe, expect, it, onTestFinished } from 'vitest';

import { Agent, freePort, isRoot, type Samples, sumSeries } from './harness/agent.js';
import { logRecords, OtlpHttpServer } from './harness/otlp_server.js';
import { expectEveryDropAccounted, REASON, samplesConfig, sendUdp } from './harness/samples.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const N = 300;
const PER_SECOND = 5;
const PAYLOAD = 101;
/** IPv4 header + UDP header + payload: INPUT sees the whole IP packet. */
const LENGTH = 20 + 8 + PAYLOAD;

if (!isRoot)
  console.log('skipping the OTLP/HTTP samples tests: they need root to load eBPF and make network namespaces');

describe.skipIf(!isRoot)('samples of drops over OTLP/HTTP on the real kernel', () => {
  it.each(['proto', 'json'])(
    'encoding %s: the samples posted to /v1/logs describe the packets sent, within the budget, and are counted as sent',
    async (encoding) => {
      const pair = NetnsPair.forTest('smh');
      const port = 7000 + (process.pid % 1000);
      dropUdpRule(pair, 'INPUT', port);
      const server = await OtlpHttpServer.start();
      onTestFinished(() => server.stop());
      const [promPort, selfPort] = [await freePort(), await freePort()];
      const config = samplesConfig({
        receiver: { netns: pair.netnsPath(pair.b) },
        perSecond: PER_SECOND,
        prometheusPort: promPort,
        selfPort,
        exporters: {
          otlphttp: `    endpoint: http://127.0.0.1:${server.port}\n    encoding: ${encoding}\n    timeout: 10s`,
          debug: '',
        },
        metrics: ['prometheus', 'otlphttp'],
        logs: ['otlphttp', 'debug'],
      });
      const agent = await Agent.startForTest(config, promPort);

      sendUdp(pair, port, N, PAYLOAD);
      const dropped = ruleCounters(pair, pair.b, 'INPUT').packets;
      expect(dropped).toBe(N);

      // What is delivered is sent, too.
      const exporter = { exporter: 'otlphttp' };
      const sent = (self: Samples) => sumSeries(self, 'dropreason_agent_exporter_sent_log_records_total', exporter);
      const seen = await expectEveryDropAccounted({
        agent,
        selfPort,
        logs: server.logs,
        dropped,
        perSecond: PER_SECOND,
        until: ({ self }) => sent(self) >= sumSeries(self, 'dropreason_agent_samples_delivered_total', {}),
      });
      // The exporter's own count: every record the server holds, none failed.
      expect(sent(seen.self)).toBe(seen.records.length);
      expect(sumSeries(seen.self, 'dropreason_agent_exporter_send_failed_log_records_total', exporter)).toBe(0);

      const netns = fs.statSync(pair.netnsPath(pair.b)).ino;
      for (const s of seen.samples) {
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
