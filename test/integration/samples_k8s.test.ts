/**
 * Samples of drops with Kubernetes attributes, on the real kernel: in advanced mode the
 * receiver groups its samples by the pod end of each packet (k8s.pod.ip), and the
 * k8sattributes processor in the logs pipeline adds that pod's attributes from the
 * wire-level fake Kubernetes API server (test/k8s), which the real client library watches.
 * Two network namespaces stand for two pods on this node: web (A) sends UDP to db (B) on
 * a port dropped on the way out of A (egress: web's sample) and on one dropped on the way
 * into B (ingress: db's sample). Each sample must describe a packet the test sent, and its
 * resource must name the pod the fake server serves at that end, as the OTLP/gRPC server
 * decodes it and as the debug exporter prints it.
 */
import { describe, expect, it, onTestFinished } from 'vitest';

import { FakeApiServer, type KubeObject } from '../k8s/fake_api_server.js';
import { Agent, freePort, isRoot, podAttributes, sleep } from './harness/agent.js';
import { logRecords, OtlpServer, type ReceivedLogRecord } from './harness/otlp_server.js';
import { otlpExporter, REASON, samplesConfig, sendUdp } from './harness/samples.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const PACKETS = 10;
const PER_SECOND = 40;

if (!isRoot)
  console.log('skipping the samples with pods tests: they need root to load eBPF and make network namespaces');

/** The resource attributes the processor should give a pod's samples, from the object the API server serves. */
function podResource(pod: KubeObject, workload: Record<string, string>): Record<string, string> {
  const meta = pod['metadata'] as { name: string; namespace: string; uid: string };
  const spec = pod['spec'] as { nodeName: string };
  const status = pod['status'] as { podIP: string };
  return {
    'k8s.pod.ip': status.podIP,
    'k8s.pod.name': meta.name,
    'k8s.pod.uid': meta.uid,
    'k8s.namespace.name': meta.namespace,
    'k8s.node.name': spec.nodeName,
    ...workload,
  };
}

describe.skipIf(!isRoot)('samples of drops with Kubernetes attributes on the real kernel', () => {
  it("names the pod at the local end of each sample: the sender's on egress, the receiver's on ingress", async () => {
    const pair = NetnsPair.forTest('smk');
    const api = await FakeApiServer.start();
    onTestFinished(() => api.close());
    api.addReplicaSet('shop', 'web-7d9f8', 'web');
    // Two pods of node-a, one at each end of the pair.
    const pod = (name: string, namespace: string, ip: string, owner: { kind: string; name: string }) =>
      api.addPod({ name, namespace, node: 'node-a', ips: [ip], owner });
    const web = pod('web-7d9f8-x2k4p', 'shop', pair.addrA, { kind: 'ReplicaSet', name: 'web-7d9f8' });
    const db = pod('db-0', 'data', pair.addrB, { kind: 'StatefulSet', name: 'db' });
    const otlp = await OtlpServer.start();
    onTestFinished(() => otlp.stop());
    const promPort = await freePort();
    const config = samplesConfig({
      receiver: { mode: 'advanced' },
      perSecond: PER_SECOND,
      prometheusPort: promPort,
      processors: { k8sattributes: podAttributes(api.kubeconfigPath) },
      exporters: { otlp: otlpExporter(otlp.port), debug: '' },
      metrics: ['prometheus'],
      logs: ['otlp', 'debug'],
      logProcessors: ['k8sattributes'],
    });
    const agent = await Agent.startForTest(config, promPort);

    const base = 7000 + (process.pid % 1000);
    const flows = [
      {
        port: base,
        chain: 'OUTPUT',
        ns: pair.a,
        direction: 'egress',
        pod: podResource(web, { 'k8s.deployment.name': 'web' }),
      },
      {
        port: base + 1,
        chain: 'INPUT',
        ns: pair.b,
        direction: 'ingress',
        pod: podResource(db, { 'k8s.statefulset.name': 'db' }),
      },
    ] as const;
    for (const f of flows) {
      expect(f.pod['k8s.pod.uid']).toMatch(/\S/);
      dropUdpRule(pair, f.chain, f.port);
    }

    // The budget is the node's: drops elsewhere may take a second's share, so send again
    // each second until both flows have samples.
    const of = (port: number) => (r: ReceivedLogRecord) =>
      r.attributes['source.address'] === pair.addrA && r.attributes['destination.port'] === String(port);
    let rounds = 0;
    const seen = () => flows.every((f) => logRecords(otlp.logs).some(of(f.port)));
    while (!seen() && rounds < 20) {
      for (const f of flows) {
        sendUdp(pair, f.port, PACKETS, 40);
      }
      rounds++;
      await sleep(1_500);
    }
    expect(seen()).toBe(true);

    await agent.stop();
    const printed = agent.stdout.split('\n');
    for (const f of flows) {
      const dropped = ruleCounters(pair, f.ns, f.chain).packets;
      expect(dropped).toBe(PACKETS * rounds);
      const samples = logRecords(otlp.logs).filter(of(f.port));
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.length).toBeLessThanOrEqual(dropped);
      for (const s of samples) {
        expect(s.attributes).toMatchObject({
          'dropreason.reason': REASON,
          'dropreason.direction': f.direction,
          'network.transport': 'udp',
          'source.address': pair.addrA,
          'destination.address': pair.addrB,
          'destination.port': String(f.port),
        });
        expect(s.resource).toMatchObject(f.pod);
        // The debug exporter's line for it names the pod too.
        const line = printed.find((l) => l.includes(s.body));
        expect(line).toContain(`pod=${f.pod['k8s.namespace.name']}/${f.pod['k8s.pod.name']}`);
      }
    }
  }, 240_000);
});
