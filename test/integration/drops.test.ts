/**
 * End to end on the real kernel: the real CLI counts drops the test makes between two
 * network namespaces, and its Prometheus endpoint must match the kernel's own counters
 * (iptables rule counters, /proc/net/snmp) and the number of packets sent.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

import { Agent, basicConfig, freePort, isRoot, loadedPrograms, programsHeldBy, sleep } from './harness/agent.js';
import { dropUdpRule, type Family, NetnsPair, ruleCounters, sh, snmpCounter, udpNoPorts } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const COUNT = 'dropreason_drop_count_total';
const BYTES = 'dropreason_drop_bytes_total';
const N = 137;
const PAYLOAD = 100;
const UDP_HEADER = 8;
const IP_HEADER: Record<Family, number> = { ipv4: 20, ipv6: 40 };

if (!isRoot) console.log('skipping drop integration tests: they need root to load eBPF and make network namespaces');

function send(
  pair: NetnsPair,
  ns: string,
  ...args: Array<string | number>
): { sent: number; outcomes: Record<string, number> } {
  return JSON.parse(pair.exec(ns, process.execPath, [SEND, ...args.map(String)])) as ReturnType<typeof send>;
}

describe.skipIf(!isRoot).each(['ipv4', 'ipv6'] as const)('drops on the real kernel over %s', (family) => {
  beforeAll(() => {
    // bpftrace and the classic tracepoint need tracefs; CI machines may not have it mounted.
    try {
      sh('sh', ['-c', '[ -e /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing']);
    } catch {
      // the tracepoint test reports it
    }
  });

  async function setUp(
    tag: string,
    opts: { netns?: 'a' | 'b'; hook?: string; retinaPort?: number } = {},
  ): Promise<{ pair: NetnsPair; agent: Agent }> {
    const pair = NetnsPair.forTest(tag, family);
    const netns = opts.netns ? pair.netnsPath(opts.netns === 'a' ? pair.a : pair.b) : undefined;
    const port = await freePort();
    const agent = await Agent.startForTest(
      basicConfig(port, { netns, hook: opts.hook, retinaPort: opts.retinaPort }),
      port,
    );
    return { pair, agent };
  }

  /**
   * Without `hook` the agent runs as users run it: node-wide, no namespace filter, so
   * nothing else on the machine may drop IPTABLE_RULE_DROP egress meanwhile. The other
   * cases count only their test namespace, which shields them from the host's own drops.
   */
  async function egressRuleDrop(hook?: string) {
    const retinaPort = await freePort();
    const { pair, agent } = await setUp('out', { hook, netns: hook ? 'a' : undefined, retinaPort });
    dropUdpRule(pair, 'OUTPUT', 9);
    const labels = { reason: 'IPTABLE_RULE_DROP', direction: 'egress' };
    const before = {
      count: await agent.value(COUNT, labels),
      bytes: await agent.value(BYTES, labels),
      retina: await agent.value('networkobservability_drop_count', labels, retinaPort),
      retinaBytes: await agent.value('networkobservability_drop_bytes', labels, retinaPort),
    };

    const result = send(pair, pair.a, 'udp', pair.addrB, 9, N, PAYLOAD);
    expect(result.outcomes).toEqual({ EPERM: N }); // every send reached the DROP rule

    const rule = ruleCounters(pair, pair.a, 'OUTPUT');
    expect(rule.packets).toBe(N);
    const count = (await agent.settle(COUNT, labels, before.count + N)) - before.count;
    const bytes = (await agent.value(BYTES, labels)) - before.bytes;
    expect(count).toBe(rule.packets);
    expect(bytes).toBe(rule.bytes);
    expect(bytes).toBe(N * (IP_HEADER[family] + UDP_HEADER + PAYLOAD));

    // Retina's names for the same counts, as gauges, on the second exporter.
    const retinaText = await agent.scrapeText(retinaPort);
    expect(retinaText).toContain('# TYPE networkobservability_drop_count gauge');
    expect(retinaText).not.toContain('dropreason_drop');
    expect((await agent.value('networkobservability_drop_count', labels, retinaPort)) - before.retina).toBe(
      rule.packets,
    );
    expect((await agent.value('networkobservability_drop_bytes', labels, retinaPort)) - before.retinaBytes).toBe(
      rule.bytes,
    );
    return agent;
  }

  it('counts an iptables OUTPUT DROP as IPTABLE_RULE_DROP egress, exactly, in both namings', async () => {
    const agent = await egressRuleDrop();
    expect(agent.stderr).toContain('hook=tp_btf/kfree_skb');
  });

  it('counts the same exactly through the classic tracepoint', async () => {
    const agent = await egressRuleDrop('tracepoint');
    expect(agent.stderr).toContain('hook=tracepoint/skb/kfree_skb');
  });

  it('counts an iptables INPUT DROP of packets arriving over the veth as ingress', async () => {
    const { pair, agent } = await setUp('in', { netns: 'b' });
    dropUdpRule(pair, 'INPUT', 9);
    const labels = { reason: 'IPTABLE_RULE_DROP', direction: 'ingress' };
    const before = { count: await agent.value(COUNT, labels), bytes: await agent.value(BYTES, labels) };

    const result = send(pair, pair.a, 'udp', pair.addrB, 9, N, PAYLOAD);
    expect(result.outcomes).toEqual({ sent: N });

    const count = (await agent.settle(COUNT, labels, before.count + N)) - before.count;
    const bytes = (await agent.value(BYTES, labels)) - before.bytes;
    const rule = ruleCounters(pair, pair.b, 'INPUT');
    expect(rule.packets).toBe(N);
    expect(count).toBe(rule.packets);
    expect(bytes).toBe(rule.bytes);
    expect(await agent.value(COUNT, { reason: 'IPTABLE_RULE_DROP', direction: 'egress' })).toBe(0);
  });

  it('counts UDP to a closed port as NO_SOCKET ingress', async () => {
    const { pair, agent } = await setUp('udp', { netns: 'b' });
    const labels = { reason: 'NO_SOCKET', direction: 'ingress' };
    const before = { count: await agent.value(COUNT, labels), bytes: await agent.value(BYTES, labels) };
    const noPorts = udpNoPorts(pair, pair.b);

    send(pair, pair.a, 'udp', pair.addrB, 7777, N, PAYLOAD);

    const count = (await agent.settle(COUNT, labels, before.count + N)) - before.count;
    const bytes = (await agent.value(BYTES, labels)) - before.bytes;
    expect(udpNoPorts(pair, pair.b) - noPorts).toBe(N);
    expect(count).toBe(N);
    // The UDP layer drops the datagram after the IP header was pulled: skb->len is UDP header + payload.
    expect(bytes).toBe(N * (UDP_HEADER + PAYLOAD));
  });

  it('counts a TCP SYN to a closed port with the kernel reason, ingress', async () => {
    const { pair, agent } = await setUp('tcp', { netns: 'b' });
    const labels = { reason: 'NO_SOCKET', direction: 'ingress' };
    const before = await agent.value(COUNT, labels);
    const resets = snmpCounter(pair, pair.b, 'Tcp', 'OutRsts');

    const result = send(pair, pair.a, 'tcp', pair.addrB, 7777, N);
    expect(result.outcomes).toEqual({ ECONNREFUSED: N });

    const count = (await agent.settle(COUNT, labels, before + N)) - before;
    expect(snmpCounter(pair, pair.b, 'Tcp', 'OutRsts') - resets).toBe(N); // one RST per refused SYN
    expect(count).toBe(N);
    const samples = await agent.scrape();
    const egress = [...samples.keys()].filter((k) => k.includes('direction="egress"'));
    expect(egress).toEqual([]); // nothing in namespace b was dropped on the way out
  });

  it('detaches everything on SIGINT and SIGTERM', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const port = await freePort();
      const agent = await Agent.startForTest(basicConfig(port), port);
      // Other agents may run on the machine: ours are the programs this one holds.
      const held = programsHeldBy(agent.pid);
      const ours = [...loadedPrograms()].filter(([id]) => held.has(id));
      // The counter, and on kernels that allow them the function hooks.
      expect(ours.map(([, name]) => name)).toContain('dr_kfree_skb_btf');
      expect(await agent.stop(signal)).toBe(0);
      expect(agent.stderr).toContain('stopped: all programs detached');
      // The kernel frees a released program from a work queue, shortly after the process exits.
      let left = ours;
      for (let i = 0; i < 50 && left.length; i++) {
        await sleep(100);
        const now = loadedPrograms();
        left = ours.filter(([id]) => now.has(id));
      }
      expect(left).toEqual([]);
    }
  });
});
