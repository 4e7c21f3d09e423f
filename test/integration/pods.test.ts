/**
 * Advanced mode with the k8sattributes processor, end to end: two network namespaces stand
 * for two pods on this node, registered with owners in the wire-level fake Kubernetes API
 * server (test/k8s), which the real client library watches. Drops between them must be
 * reported per pod, with namespace and workload, equal to the rule counters.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

import { FakeApiServer } from '../k8s/fake_api_server.js';
import { Agent, freePort, isRoot, type Samples } from './harness/agent.js';
import { NetnsPair, ruleCounters } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const N = 41;

if (!isRoot) console.log('skipping pod-level tests: they need root to load eBPF and make network namespaces');

/** The one series of `name` whose labels include every pair of `labels`. */
function series(samples: Samples, name: string, labels: Record<string, string>): Array<[string, number]> {
  return [...samples].filter(
    ([k]) => k.startsWith(`${name}{`) && Object.entries(labels).every(([l, v]) => k.includes(`${l}="${v}"`)),
  );
}

describe.skipIf(!isRoot)('pod-level drops with Kubernetes attributes', () => {
  let pair: NetnsPair | undefined;
  let agent: Agent | undefined;
  let api: FakeApiServer | undefined;

  afterEach(async () => {
    await agent?.stop();
    await api?.close();
    pair?.destroy();
    agent = undefined;
    api = undefined;
    pair = undefined;
  });

  it('names the pod, namespace and workload of each drop, in both namings', async () => {
    pair = new NetnsPair('pods');
    pair.create();
    api = await FakeApiServer.start();
    api.addReplicaSet('shop', 'web-7d9f8', 'web');
    api.addPod({
      name: 'web-7d9f8-x2k4p',
      namespace: 'shop',
      node: 'node-a',
      ips: [pair.addrA],
      owner: { kind: 'ReplicaSet', name: 'web-7d9f8' },
      labels: { 'pod-template-hash': '7d9f8' },
    });
    api.addPod({
      name: 'db-0',
      namespace: 'data',
      node: 'node-a',
      ips: [pair.addrB],
      owner: { kind: 'StatefulSet', name: 'db' },
    });
    // A pod on another node must not be watched.
    api.addPod({ name: 'elsewhere', namespace: 'shop', node: 'node-b', ips: ['198.19.0.9'] });

    const [port, retinaPort] = [await freePort(), await freePort()];
    agent = await Agent.start(
      `receivers:
  dropreason:
    mode: advanced
    collection_interval: 500ms
processors:
  k8sattributes:
    auth_type: kubeConfig
    kube_config_path: ${api.kubeconfigPath}
    filter:
      node: node-a
    wait_for_metadata: true
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
      processors: [k8sattributes]
      exporters: [prometheus, prometheus/retina]
`,
      port,
    );
    expect(api.requestsFor('pods').every((r) => r.query['fieldSelector'] === 'spec.nodeName=node-a')).toBe(true);

    pair.exec(pair.a, pair.iptables, [
      '-w',
      '-A',
      'OUTPUT',
      '-d',
      pair.addrB,
      '-p',
      'udp',
      '--dport',
      '9',
      '-j',
      'DROP',
    ]);
    pair.exec(pair.b, pair.iptables, [
      '-w',
      '-A',
      'INPUT',
      '-s',
      pair.addrA,
      '-p',
      'udp',
      '--dport',
      '10',
      '-j',
      'DROP',
    ]);
    pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(N), '40']);
    pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '10', String(N + 2), '40']);
    const out = ruleCounters(pair, pair.a, 'OUTPUT');
    const inp = ruleCounters(pair, pair.b, 'INPUT');
    expect([out.packets, inp.packets]).toEqual([N, N + 2]);

    const web = {
      reason: 'IPTABLE_RULE_DROP',
      direction: 'egress',
      k8s_pod_name: 'web-7d9f8-x2k4p',
      k8s_namespace_name: 'shop',
      k8s_deployment_name: 'web',
      k8s_workload_kind: 'Deployment',
      k8s_workload_name: 'web',
      peer_address: pair.addrB,
    };
    const db = {
      reason: 'IPTABLE_RULE_DROP',
      direction: 'ingress',
      k8s_pod_name: 'db-0',
      k8s_namespace_name: 'data',
      k8s_statefulset_name: 'db',
      k8s_workload_kind: 'StatefulSet',
    };
    const deadline = Date.now() + 20_000;
    let samples = await agent.scrape();
    while (Date.now() < deadline && series(samples, 'dropreason_pod_drop_count_total', db)[0]?.[1] !== inp.packets) {
      await new Promise((r) => setTimeout(r, 250));
      samples = await agent.scrape();
    }
    expect(series(samples, 'dropreason_pod_drop_count_total', web).map(([, v]) => v)).toEqual([out.packets]);
    expect(series(samples, 'dropreason_pod_drop_bytes_total', web).map(([, v]) => v)).toEqual([out.bytes]);
    expect(series(samples, 'dropreason_pod_drop_count_total', db).map(([, v]) => v)).toEqual([inp.packets]);

    // Retina's labels, as its dashboards query them.
    const retina = await agent.scrape(retinaPort);
    const retinaWeb = {
      ip: pair.addrA,
      namespace: 'shop',
      podname: 'web-7d9f8-x2k4p',
      workload_kind: 'Deployment',
      workload_name: 'web',
      direction: 'egress',
    };
    expect(series(retina, 'networkobservability_adv_drop_count', retinaWeb).map(([, v]) => v)).toEqual([out.packets]);
  });
});
