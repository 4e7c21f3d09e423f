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

import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { Agent, freePort, isRoot } from './harness/agent.js';
import { OtlpServer } from './harness/otlp_server.js';
import { expectEveryDropAccounted, otlpExporter, REASON, samplesConfig, sendUdp } from './harness/samples.js';
import { dropUdpRule, type Family, NetnsPair, ruleCounters, sh } from './harness/topology.js';

const N = 300;
const PER_SECOND = 5;
const UDP_HEADER = 8;
const IP_HEADER: Record<Family, number> = { ipv4: 20, ipv6: 40 };

if (!isRoot) console.log('skipping the samples tests: they need root to load eBPF and make network namespaces');

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
      const config = samplesConfig({
        receiver: { hook, netns: pair.netnsPath(pair.b) },
        perSecond: PER_SECOND,
        prometheusPort: promPort,
        selfPort,
        exporters: { otlp: otlpExporter(server.port) },
        metrics: ['prometheus'],
        logs: ['otlp'],
      });
      const agent = await Agent.startForTest(config, promPort);
      expect(agent.stderr).toContain('sampling dropped packets');

      sendUdp(pair, port, N, payload);
      const dropped = ruleCounters(pair, pair.b, 'INPUT').packets;
      expect(dropped).toBe(N);

      const { samples } = await expectEveryDropAccounted({
        agent,
        selfPort,
        logs: server.logs,
        dropped,
        perSecond: PER_SECOND,
      });

      const netns = fs.statSync(pair.netnsPath(pair.b)).ino;
      const now = BigInt(Date.now()) * 1_000_000n;
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
        expect(s.body).toContain(`${REASON} ingress udp`);
        // Stamped by the kernel, within the test's run.
        expect(s.timeUnixNano).toBeLessThanOrEqual(now);
        expect(s.timeUnixNano).toBeGreaterThan(now - 120_000_000_000n);
      }
    },
    // Generous: starting the agent alone may take a minute under the kernel matrix's emulation.
    240_000,
  );
});
