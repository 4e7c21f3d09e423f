/**
 * Advanced mode on the real kernel: drops between two namespaces are reported per local
 * address with the remote end, and each series equals the kernel's own rule counter.
 * Series are keyed by the test's own addresses, so other drops on the machine do not
 * touch them.
 */
import { describe, expect, it } from 'vitest';

import { Agent, freePort, isRoot } from './harness/agent.js';
import { dropUdpBothWays, NetnsPair } from './harness/topology.js';

const POD_COUNT = 'dropreason_pod_drop_count_total';
const POD_BYTES = 'dropreason_pod_drop_bytes_total';
const N = 57;

if (!isRoot) console.log('skipping advanced mode tests: they need root to load eBPF and make network namespaces');

function config(port: number, retinaPort: number): string {
  return `receivers:
  dropreason:
    mode: advanced
    collection_interval: 500ms
exporters:
  prometheus:
    endpoint: 127.0.0.1:${port}
  prometheus/retina:
    endpoint: 127.0.0.1:${retinaPort}
    naming: retina
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [prometheus, prometheus/retina]
`;
}

describe.skipIf(!isRoot).each(['ipv4', 'ipv6'] as const)('advanced mode over %s', (family) => {
  it('counts drops per local address and remote end, equal to the rule counters', async () => {
    const pair = NetnsPair.forTest('adv', family);
    const [port, retinaPort] = [await freePort(), await freePort()];
    const agent = await Agent.startForTest(config(port, retinaPort), port);
    expect(agent.stderr).toContain('mode=advanced');

    // Egress drops in a, ingress drops in b.
    const { out, inp } = dropUdpBothWays(pair, N, N + 1);
    expect([out.packets, inp.packets]).toEqual([N, N + 1]);

    const egress = {
      direction: 'egress',
      k8s_pod_ip: pair.addrA,
      network_transport: 'udp',
      peer_address: pair.addrB,
      reason: 'IPTABLE_RULE_DROP',
    };
    const ingress = { ...egress, direction: 'ingress', k8s_pod_ip: pair.addrB, peer_address: pair.addrA };
    expect(await agent.settle(POD_COUNT, egress, N)).toBe(out.packets);
    expect(await agent.value(POD_BYTES, egress)).toBe(out.bytes);
    expect(await agent.settle(POD_COUNT, ingress, N + 1)).toBe(inp.packets);
    expect(await agent.value(POD_BYTES, ingress)).toBe(inp.bytes);

    // Retina's names and labels for the same series, on the second exporter.
    const retina = [...(await agent.scrape(retinaPort))].filter(([k]) =>
      k.startsWith('networkobservability_adv_drop_count{'),
    );
    const mine = retina.filter(([k]) => k.includes(`ip="${pair.addrA}"`) && k.includes('direction="egress"'));
    expect(mine.map(([, v]) => v)).toEqual([N]);
    expect(mine[0]![0]).toContain('podname="unknown"');
  });
});
