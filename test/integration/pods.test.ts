/**
 * Advanced mode with the k8sattributes processor, end to end: two network namespaces stand
 * for two pods on this node, registered with owners in the wire-level fake Kubernetes API
 * server (test/k8s), which the real client library watches. Drops between them must be
 * reported per pod, with namespace and workload, equal to the rule counters: on the
 * Prometheus side (OTel and Retina naming, Retina's local and remote context) and on the
 * OTLP side (decoded by a gRPC server with the official protos), from one agent run. The
 * processors list their metadata as a Collector config does (no k8s.workload.* keys):
 * Retina's workload labels must still come from the owner chain, and an end no pod owns
 * must read "unknown", as Retina writes it; and no Namespace or Node is read, since no key
 * needs one. A second agent adds the pods' Namespace and Node labels, annotations and uids
 * (k8s.node.uid, k8s.cluster.uid), watching every Namespace and this node's Node only.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

import { FakeApiServer } from '../k8s/fake_api_server.js';
import { Agent, freePort, isRoot, podAttributes, type Samples, sleep } from './harness/agent.js';
import { OtlpServer, type ResourcePoint, resourcePoints } from './harness/otlp_server.js';
import { type Counters, dropUdpBothWays, dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const N = 41;
/** An address outside the pair that no pod owns; A routes it through B. */
const OUTSIDE = '203.0.113.7';

if (!isRoot) console.log('skipping pod-level tests: they need root to load eBPF and make network namespaces');

/** The series of `name` whose labels include every pair of `labels`. */
function series(samples: Samples, name: string, labels: Record<string, string>): Array<[string, number]> {
  return [...samples].filter(
    ([k]) => k.startsWith(`${name}{`) && Object.entries(labels).every(([l, v]) => k.includes(`${l}="${v}"`)),
  );
}

/** Polls `check` until it returns true or `timeoutMs` is up. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await sleep(250);
}

/** The two pods of the pair, and one on another node that must not be watched; their namespaces and nodes. */
function registerPods(api: FakeApiServer, pair: NetnsPair): void {
  api.addNamespace('kube-system');
  api.addNamespace('shop', { labels: { team: 'checkout' }, annotations: { 'example.com/owner': 'ops-shop' } });
  api.addNamespace('data', { labels: { team: 'storage' }, annotations: { 'example.com/owner': 'ops-data' } });
  api.addNode('node-a', {
    labels: { 'topology.kubernetes.io/zone': 'zone-a', 'topology.kubernetes.io/region': 'region-1' },
    annotations: { 'example.com/rack': 'r7' },
  });
  api.addNode('node-b', { labels: { 'topology.kubernetes.io/zone': 'zone-b' } });
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
  api.addPod({ name: 'elsewhere', namespace: 'shop', node: 'node-b', ips: ['198.19.0.9'] });
}

/** An API server for the running test, with the pair's pods registered; closed when the test finishes. */
async function podsApi(pair: NetnsPair): Promise<FakeApiServer> {
  const api = await FakeApiServer.start();
  onTestFinished(() => api.close());
  registerPods(api, pair);
  return api;
}

type Labels = Record<string, string>;

/**
 * Waits until the agent counts db's `inp.packets`, then two more collections, so that an
 * overcount is seen, not hidden; the pod series of web (A, egress) and db (B, ingress) must
 * then equal their rule counters. Returns that last scrape.
 */
async function expectPodDrops(agent: Agent, web: Labels, out: Counters, db: Labels, inp: Counters): Promise<Samples> {
  await until(async () => series(await agent.scrape(), 'dropreason_pod_drop_count_total', db)[0]?.[1] === inp.packets);
  await sleep(1_200);
  const samples = await agent.scrape();
  const values = (name: string, labels: Labels) => series(samples, name, labels).map(([, v]) => v);
  expect(values('dropreason_pod_drop_count_total', web)).toEqual([out.packets]);
  expect(values('dropreason_pod_drop_bytes_total', web)).toEqual([out.bytes]);
  expect(values('dropreason_pod_drop_count_total', db)).toEqual([inp.packets]);
  expect(values('dropreason_pod_drop_bytes_total', db)).toEqual([inp.bytes]);
  return samples;
}

interface Ports {
  prometheus: number;
  retina: number;
  retinaRemote: number;
  otlp: number;
}

/**
 * One receiver, two pipelines: the node's pods (node filter) to Prometheus in both namings
 * and to OTLP; every pod (peer_enrichment) to Prometheus with Retina's remote context.
 */
function agentConfig(kubeconfig: string, ports: Ports): string {
  const processor = `\n${podAttributes(kubeconfig)}`;
  return `receivers:
  dropreason:
    mode: advanced
    collection_interval: 500ms
processors:
  k8sattributes:${processor}
  k8sattributes/peers:${processor}
    peer_enrichment: true
exporters:
  prometheus:
    endpoint: 127.0.0.1:${ports.prometheus}
  prometheus/retina:
    endpoint: 127.0.0.1:${ports.retina}
    naming: retina
  prometheus/retina_remote:
    endpoint: 127.0.0.1:${ports.retinaRemote}
    naming: retina
    retina_context: remote
  otlp:
    endpoint: 127.0.0.1:${ports.otlp}
    tls:
      insecure: true
    timeout: 3s
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      processors: [k8sattributes]
      exporters: [prometheus, prometheus/retina, otlp]
    metrics/peers:
      receivers: [dropreason]
      processors: [k8sattributes/peers]
      exporters: [prometheus/retina_remote]
`;
}

/** Packets dropped by the OUTPUT rule for OUTSIDE in A, from iptables' own counter. */
function outsideCounter(pair: NetnsPair): number {
  const out = pair.exec(pair.a, pair.iptables, ['-w', '-L', 'OUTPUT', '-v', '-x', '-n']);
  const line = out.split('\n').find((l) => l.includes(OUTSIDE));
  const m = line ? /^\s*(\d+)\s+\d+\s+DROP/.exec(line) : null;
  if (!m) throw new Error(`no DROP rule for ${OUTSIDE} in A's OUTPUT:\n${out}`);
  return Number(m[1]);
}

/**
 * The points of one pod-level metric for the pod at `ip`, by direction, in the newest
 * request that carries that pod: the exporter sends one request per ResourceMetrics.
 */
function otlpPoints(server: OtlpServer, metric: string, ip: string, direction: string): ResourcePoint[] {
  for (const r of server.accepted().reverse()) {
    const points = resourcePoints(r.request, metric).filter((p) => p.resource['k8s.pod.ip'] === ip);
    if (points.length === 0) continue;
    return points.filter(
      (p) => p.attributes['reason'] === 'IPTABLE_RULE_DROP' && p.attributes['direction'] === direction,
    );
  }
  return [];
}

describe.skipIf(!isRoot)('pod-level drops with Kubernetes attributes', () => {
  it('names the pod, namespace and workload of each drop, on Prometheus in both namings and contexts, and on OTLP', async () => {
    const pair = NetnsPair.forTest('pods');
    const api = await podsApi(pair);
    const otlp = await OtlpServer.start();
    onTestFinished(() => otlp.stop());
    const ports: Ports = {
      prometheus: await freePort(),
      retina: await freePort(),
      retinaRemote: await freePort(),
      otlp: otlp.port,
    };
    const agent = await Agent.startForTest(agentConfig(api.kubeconfigPath, ports), ports.prometheus);
    // The node's processor watches this node's pods only; the peers' one every pod.
    const selectors = new Set(api.requestsFor('pods').map((r) => r.query['fieldSelector'] ?? 'all'));
    expect(selectors).toEqual(new Set(['spec.nodeName=node-a', 'all']));
    // No key reads a Namespace or a Node: neither is listed nor watched.
    expect(api.requestsFor('namespaces')).toEqual([]);
    expect(api.requestsFor('nodes')).toEqual([]);

    // web (A) sends to db (B): dropped on the way out of A, and on the way into B.
    dropUdpRule(pair, 'OUTPUT', 9);
    dropUdpRule(pair, 'INPUT', 10);
    pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(N), '40']);
    pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '10', String(N + 2), '40']);
    // ... and to an address no pod owns, dropped on the way out of A too.
    pair.exec(pair.a, 'ip', ['route', 'add', `${OUTSIDE}/32`, 'via', pair.addrB]);
    dropUdpRule(pair, 'OUTPUT', 11, OUTSIDE);
    pair.exec(pair.a, process.execPath, [SEND, 'udp', OUTSIDE, '11', String(N + 4), '40']);
    const outside = outsideCounter(pair);
    expect(outside).toBe(N + 4);
    const out = ruleCounters(pair, pair.a, 'OUTPUT');
    const inp = ruleCounters(pair, pair.b, 'INPUT');
    expect([out.packets, inp.packets]).toEqual([N, N + 2]);

    // Prometheus, OTel naming: the pod's resource attributes as labels.
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
      peer_address: pair.addrA,
    };
    await expectPodDrops(agent, web, out, db, inp);

    // Retina's local context: the pod on this node, unprefixed.
    const retina = await agent.scrape(ports.retina);
    const retinaWeb = {
      ip: pair.addrA,
      namespace: 'shop',
      podname: 'web-7d9f8-x2k4p',
      workload_kind: 'Deployment',
      workload_name: 'web',
      direction: 'egress',
      peer_address: pair.addrB,
    };
    expect(series(retina, 'networkobservability_adv_drop_count', retinaWeb).map(([, v]) => v)).toEqual([out.packets]);

    // Retina's remote context, with peer enrichment: both pods, source and destination by direction.
    const ends = {
      source_ip: pair.addrA,
      source_namespace: 'shop',
      source_podname: 'web-7d9f8-x2k4p',
      source_workload_kind: 'Deployment',
      source_workload_name: 'web',
      destination_ip: pair.addrB,
      destination_namespace: 'data',
      destination_podname: 'db-0',
      destination_workload_kind: 'StatefulSet',
      destination_workload_name: 'db',
      reason: 'IPTABLE_RULE_DROP',
    };
    let remote = await agent.scrape(ports.retinaRemote);
    const remoteValues = (name: string, direction: string) =>
      series(remote, name, { ...ends, direction }).map(([, v]) => v);
    await until(async () => {
      remote = await agent.scrape(ports.retinaRemote);
      return remoteValues('networkobservability_adv_drop_count', 'ingress')[0] === inp.packets;
    });
    expect(remoteValues('networkobservability_adv_drop_count', 'egress')).toEqual([out.packets]);
    expect(remoteValues('networkobservability_adv_drop_bytes', 'egress')).toEqual([out.bytes]);
    expect(remoteValues('networkobservability_adv_drop_count', 'ingress')).toEqual([inp.packets]);
    expect(remoteValues('networkobservability_adv_drop_bytes', 'ingress')).toEqual([inp.bytes]);
    // The end no pod owns reads "unknown" in every label but its ip.
    const toOutside = {
      ...ends,
      direction: 'egress',
      destination_ip: OUTSIDE,
      destination_namespace: 'unknown',
      destination_podname: 'unknown',
      destination_workload_kind: 'unknown',
      destination_workload_name: 'unknown',
    };
    expect(series(remote, 'networkobservability_adv_drop_count', toOutside).map(([, v]) => v)).toEqual([outside]);

    // OTLP: one ResourceMetrics per pod, its identity in resource attributes, counts in data points.
    const webPoints = (metric: string) =>
      otlpPoints(otlp, metric, pair.addrA, 'egress').filter((p) => p.attributes['peer.address'] === pair.addrB);
    const dbPoints = (metric: string) => otlpPoints(otlp, metric, pair.addrB, 'ingress');
    await until(() => dbPoints('dropreason.pod.drop.count')[0]?.value === inp.packets);
    expect(webPoints('dropreason.pod.drop.count').map((p) => p.value)).toEqual([out.packets]);
    expect(webPoints('dropreason.pod.drop.bytes').map((p) => p.value)).toEqual([out.bytes]);
    expect(dbPoints('dropreason.pod.drop.count').map((p) => p.value)).toEqual([inp.packets]);
    expect(dbPoints('dropreason.pod.drop.bytes').map((p) => p.value)).toEqual([inp.bytes]);
    expect(webPoints('dropreason.pod.drop.count')[0]!.resource).toMatchObject({
      'k8s.pod.ip': pair.addrA,
      'k8s.pod.name': 'web-7d9f8-x2k4p',
      'k8s.namespace.name': 'shop',
      'k8s.deployment.name': 'web',
      'k8s.workload.kind': 'Deployment',
      'k8s.workload.name': 'web',
    });
    expect(webPoints('dropreason.pod.drop.count')[0]!.attributes).toMatchObject({ 'peer.address': pair.addrB });
    expect(dbPoints('dropreason.pod.drop.count')[0]!.resource).toMatchObject({
      'k8s.pod.ip': pair.addrB,
      'k8s.pod.name': 'db-0',
      'k8s.namespace.name': 'data',
      'k8s.statefulset.name': 'db',
      'k8s.workload.kind': 'StatefulSet',
      'k8s.workload.name': 'db',
    });
    expect(dbPoints('dropreason.pod.drop.count')[0]!.attributes).toMatchObject({ 'peer.address': pair.addrA });
    // The OTLP pipeline has no peer enrichment: no peer pod names there.
    expect(dbPoints('dropreason.pod.drop.count')[0]!.attributes).not.toHaveProperty('peer.k8s.pod.name');
  }, 300_000); // the agent, the Kubernetes client and four endpoints: slow under the kernel matrix's emulation

  it("adds the Namespace's and the Node's labels, annotations and uids to each pod's drops", async () => {
    const pair = NetnsPair.forTest('podmeta');
    const api = await podsApi(pair);
    const clusterUid = api.get('namespaces', '', 'kube-system')!.metadata.uid!;
    const nodeUid = api.get('nodes', '', 'node-a')!.metadata.uid!;
    const port = await freePort();
    const agent = await Agent.startForTest(
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
    extract:
      metadata: [k8s.pod.name, k8s.namespace.name, k8s.node.uid, k8s.cluster.uid]
      labels:
        - key: team
          from: namespace
        - key_regex: topology\\.kubernetes\\.io/(.*)
          tag_name: topology.$1
          from: node
      annotations:
        - key: example.com/owner
          from: namespace
          tag_name: owner
        - key: example.com/rack
          from: node
    wait_for_metadata: true
exporters:
  prometheus:
    endpoint: 127.0.0.1:${port}
    # Every resource attribute a label, owner and topology.* included (by default only k8s.*).
    resource_to_telemetry_conversion:
      enabled: true
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      processors: [k8sattributes]
      exporters: [prometheus]
`,
      port,
    );
    // Every Namespace (a rule reads from namespace); this node's Node only.
    expect(new Set(api.requestsFor('namespaces').map((r) => r.query['fieldSelector'] ?? 'all'))).toEqual(
      new Set(['all']),
    );
    expect(new Set(api.requestsFor('nodes').map((r) => r.query['fieldSelector'] ?? 'all'))).toEqual(
      new Set(['metadata.name=node-a']),
    );

    const { out, inp } = dropUdpBothWays(pair, N, N + 2);
    expect([out.packets, inp.packets]).toEqual([N, N + 2]);

    const node = {
      k8s_node_uid: nodeUid,
      k8s_cluster_uid: clusterUid,
      topology_zone: 'zone-a',
      topology_region: 'region-1',
      k8s_node_annotations_example_com_rack: 'r7',
    };
    const web = {
      reason: 'IPTABLE_RULE_DROP',
      direction: 'egress',
      k8s_pod_name: 'web-7d9f8-x2k4p',
      k8s_namespace_name: 'shop',
      k8s_namespace_labels_team: 'checkout',
      owner: 'ops-shop',
      ...node,
    };
    const db = {
      reason: 'IPTABLE_RULE_DROP',
      direction: 'ingress',
      k8s_pod_name: 'db-0',
      k8s_namespace_name: 'data',
      k8s_namespace_labels_team: 'storage',
      owner: 'ops-data',
      ...node,
    };
    const samples = await expectPodDrops(agent, web, out, db, inp);
    // node-b's labels were never read: only this node's Node is watched.
    expect([...samples.keys()].some((k) => k.includes('zone-b'))).toBe(false);
  }, 300_000);
});
