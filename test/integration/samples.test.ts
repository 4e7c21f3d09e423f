/**
 * Samples of drops as OTLP logs, on the real kernel: the test sends many more UDP packets
 * than the budget allows to a port an iptables rule drops, in a network namespace pair;
 * the agent's otlp exporter sends the samples to an OTLP/gRPC server in this process,
 * which decodes them with the official .proto files. Each sample must describe a packet
 * the test sent (addresses, port, protocol, length, reason, namespace), there must be no
 * more than the budget allows, and the samples delivered plus those the agent reports
 * refused or lost must be every packet the rule dropped, as iptables counts them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { Agent, freePort, isRoot, sleep, sumSeries, parseMetrics } from './harness/agent.js';
import { logRecords, OtlpServer } from './harness/otlp_server.js';
import { dropUdpRule, type Family, NetnsPair, ruleCounters, sh } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const N = 300;
const PER_SECOND = 5;
const UDP_HEADER = 8;
const IP_HEADER: Record<Family, number> = { ipv4: 20, ipv6: 40 };

if (!isRoot) console.log('skipping the samples tests: they need root to load eBPF and make network namespaces');

function config(promPort: number, selfPort: number, otlpPort: number, netns: string, hook: string): string {
  return `receivers:
  dropreason:
    hook: ${hook}
    collection_interval: 500ms
    netns: ${netns}
    samples_per_second: ${PER_SECOND}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${promPort}
  otlp:
    endpoint: 127.0.0.1:${otlpPort}
    tls:
      insecure: true
    timeout: 10s
service:
  telemetry:
    metrics:
      level: normal
      address: 127.0.0.1:${selfPort}
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [prometheus]
    logs:
      receivers: [dropreason]
      exporters: [otlp]
`;
}

describe.skipIf(!isRoot)('samples of drops as OTLP logs on the real kernel', () => {
  beforeAll(() => {
    // The classic tracepoint needs tracefs.
    sh('sh', ['-c', '[ -e /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing']);
  });

  it.each([
    ['ipv4', 'tp_btf'],
    ['ipv6', 'tp_btf'],
    ['ipv4', 'tracepoint'],
  ] as const)(
    '%s, %s: samples describe the packets sent, within the budget, and every drop is sampled, refused or lost',
    async (family, hook) => {
      const pair = NetnsPair.forTest('smp', family);
      const port = 7000 + (process.pid % 1000);
      const payload = family === 'ipv4' ? 101 : 103;
      dropUdpRule(pair, 'INPUT', port);
      const server = await OtlpServer.start();
      onTestFinished(() => server.stop());
      const [promPort, selfPort] = [await freePort(), await freePort()];
      const agent = await Agent.startForTest(
        config(promPort, selfPort, server.port, pair.netnsPath(pair.b), hook),
        promPort,
      );
      expect(agent.stderr).toContain('sampling dropped packets');

      pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, String(port), String(N), String(payload)]);
      const dropped = ruleCounters(pair, pair.b, 'INPUT').packets;
      expect(dropped).toBe(N);

      // Every drop ends up delivered, refused or lost: wait until the agent accounts for all.
      const reason = 'IPTABLE_RULE_DROP';
      const accounted = async () => {
        const self = parseMetrics(await agent.scrapeText(selfPort));
        return {
          samples: logRecords(server.logs).filter((r) => r.attributes['dropreason.reason'] === reason),
          refused: sumSeries(self, 'dropreason_agent_samples_refused_total', { reason }),
          lost: sumSeries(self, 'dropreason_agent_samples_lost_total', {}),
        };
      };
      const deadline = Date.now() + 30_000;
      let seen = await accounted();
      while (seen.samples.length + seen.refused + seen.lost < dropped && Date.now() < deadline) {
        await sleep(200);
        seen = await accounted();
      }
      const { samples, refused, lost } = seen;
      expect(samples.length + refused + lost).toBe(dropped);
      expect(lost).toBe(0);
      expect(samples.length).toBeGreaterThan(0);

      // The budget: at most PER_SECOND per epoch, and epochs last at least a second, so
      // samples spanning S seconds come from at most floor(S) + 2 epochs.
      const times = samples.map((s) => s.timeUnixNano);
      const span = Number(times.reduce((a, b) => (b > a ? b : a)) - times.reduce((a, b) => (b < a ? b : a)));
      expect(samples.length).toBeLessThanOrEqual(PER_SECOND * (Math.floor(span / 1e9) + 2));
      expect(samples.length).toBeLessThan(N);

      const netns = fs.statSync(pair.netnsPath(pair.b)).ino;
      for (const s of samples) {
        expect(s.attributes).toMatchObject({
          'dropreason.direction': 'ingress',
          'network.type': family,
          'network.transport': 'udp',
          'source.address': pair.addrA,
          'destination.address': pair.addrB,
          'destination.port': String(port),
          // INPUT runs on the whole IP packet.
          'dropreason.packet.length': String(IP_HEADER[family] + UDP_HEADER + payload),
          'dropreason.netns.inode': String(netns),
        });
        expect(Number(s.attributes['source.port'])).toBeGreaterThan(0);
        expect(Number(s.attributes['dropreason.interface.index'])).toBeGreaterThan(0);
        expect(s.attributes['dropreason.location']).toMatch(/\S/);
        expect(s.body).toContain(`${reason} ingress udp`);
      }
      // Stamped by the kernel, within the test's run.
      const now = BigInt(Date.now()) * 1_000_000n;
      for (const t of times) {
        expect(t).toBeLessThanOrEqual(now);
        expect(t).toBeGreaterThan(now - 120_000_000_000n);
      }
    },
    // Generous: starting the agent alone may take a minute under the kernel matrix's emulation.
    240_000,
  );
});
