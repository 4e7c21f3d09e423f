/**
 * Labels and annotations from the pod's Namespace and Node, k8s.node.uid and
 * k8s.cluster.uid: which watches the config asks for (none unless a key needs them), what
 * the attributes are made of, and the processor against the fake API server through the
 * real @kubernetes/client-node.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it, vi } from 'vitest';

import { AttributeBuilder, noOwners, type ObjectLookup } from '../../../../src/processors/k8sattributes/attributes.js';
import { configSchema, type K8sAttributesConfig } from '../../../../src/processors/k8sattributes/config.js';
import { ObjectWatches, objectWatchSettings } from '../../../../src/processors/k8sattributes/object_watch.js';
import { PodWatches } from '../../../../src/processors/k8sattributes/pod_watch.js';
import { type Dependencies, K8sAttributesProcessor } from '../../../../src/processors/k8sattributes/processor.js';
import type { MetaRecord, PodRecord } from '../../../../src/processors/k8sattributes/records.js';
import type { FakeApiServer } from '../../../k8s/fake_api_server.js';
import { useFakeApiServer } from './fixture.js';
import { collect, recordingLogger, settingsFor } from '../../support.js';
import { parseSettings } from '../../componentconfig.js';

function parse(settings: Record<string, unknown>): K8sAttributesConfig {
  return parseSettings(configSchema, 'processors.k8sattributes', settings);
}

describe('which Namespace and Node watches a config needs', () => {
  const needs = (settings: Record<string, unknown>, node?: string) => {
    const { namespaces, nodes } = objectWatchSettings(parse(settings), node);
    return {
      namespaces: namespaces && { selector: namespaces.fieldSelector ?? 'all', keep: namespaces.keep },
      nodes: nodes && { selector: nodes.fieldSelector ?? 'all', keep: nodes.keep },
    };
  };
  const none = { labels: [], annotations: [], labelPatterns: [], annotationPatterns: [] };

  it('watches neither for the default config, pod rules and the pod-level metadata', () => {
    expect(needs({})).toEqual({ namespaces: undefined, nodes: undefined });
    expect(
      needs(
        {
          extract: {
            metadata: ['k8s.pod.name', 'k8s.namespace.name', 'k8s.node.name', 'k8s.deployment.uid'],
            labels: [{ key: 'app' }, { key_regex: 'team/.*', from: 'pod' }],
            annotations: [{ key: 'owner' }],
          },
        },
        'node-a',
      ),
    ).toEqual({ namespaces: undefined, nodes: undefined });
  });

  it('watches the kube-system Namespace alone for k8s.cluster.uid, every Namespace when a rule reads one', () => {
    expect(needs({ extract: { metadata: ['k8s.cluster.uid'] } })).toEqual({
      namespaces: { selector: 'metadata.name=kube-system', keep: none },
      nodes: undefined,
    });
    expect(
      needs({
        extract: {
          metadata: ['k8s.cluster.uid'],
          labels: [{ key: 'team', from: 'namespace' }, { key: 'app' }],
          annotations: [{ key_regex: 'owner/.*', from: 'namespace' }],
        },
      }),
    ).toEqual({
      namespaces: {
        selector: 'all',
        keep: { labels: ['team'], annotations: [], labelPatterns: [], annotationPatterns: ['owner/.*'] },
      },
      nodes: undefined,
    });
  });

  it('watches this node alone when its name is known, every Node otherwise', () => {
    expect(needs({ extract: { metadata: ['k8s.node.uid'] } }, 'node-a')).toEqual({
      namespaces: undefined,
      nodes: { selector: 'metadata.name=node-a', keep: none },
    });
    expect(needs({ extract: { labels: [{ key_regex: 'topology\\.kubernetes\\.io/.*', from: 'node' }] } })).toEqual({
      namespaces: undefined,
      nodes: {
        selector: 'all',
        keep: { labels: [], annotations: [], labelPatterns: ['topology\\.kubernetes\\.io/.*'], annotationPatterns: [] },
      },
    });
  });
});

describe('attributes from the Namespace and the Node', () => {
  const pod: PodRecord = {
    metadata: { name: 'web-1', namespace: 'shop', resourceVersion: '1' },
    uid: 'pod-uid',
    startTime: '',
    hostname: '',
    ips: ['10.0.0.1'],
    node: 'node-a',
    owner: undefined,
    templateHash: undefined,
    labels: { team: 'pod-team', app: 'web' },
    annotations: undefined,
    hostNetwork: false,
    terminated: false,
  };
  const meta = (name: string, uid: string, labels?: Record<string, string>, annotations?: Record<string, string>) =>
    ({ metadata: { name, namespace: '', resourceVersion: '1' }, uid, labels, annotations }) satisfies MetaRecord;
  const objects: ObjectLookup = {
    namespace: (name) =>
      ({
        shop: meta('shop', 'ns-uid', { team: 'payments', tier: 'gold' }, { 'example.com/owner': 'ops' }),
        'kube-system': meta('kube-system', 'cluster-uid'),
      })[name],
    node: (name) =>
      name === 'node-a'
        ? meta(
            'node-a',
            'node-uid',
            { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r1', team: 'infra' },
            { 'example.com/rack': 'r7' },
          )
        : undefined,
  };

  it('names them k8s.namespace.* and k8s.node.* by default, tag_name and key_regex groups otherwise', () => {
    const c = parse({
      extract: {
        metadata: ['k8s.pod.name', 'k8s.node.uid', 'k8s.cluster.uid'],
        labels: [
          { key: 'team', from: 'namespace' },
          { key: 'tier', from: 'namespace', tag_name: 'tier' },
          { key_regex: 'topology\\.kubernetes\\.io/(.*)', from: 'node', tag_name: 'topo.$1' },
          { key: 'team', from: 'node' },
          { key: 'team' },
          { key: 'missing', from: 'namespace' },
        ],
        annotations: [
          { key: 'example.com/owner', from: 'namespace' },
          { key_regex: 'example\\.com/.*', from: 'node' },
        ],
      },
    });
    const b = new AttributeBuilder(c.extract.metadata, c.extract.labels, c.extract.annotations);
    expect(b.resource(pod, noOwners, objects)).toEqual({
      'k8s.pod.name': 'web-1',
      'k8s.node.uid': 'node-uid',
      'k8s.cluster.uid': 'cluster-uid',
      'k8s.workload.kind': 'Pod',
      'k8s.workload.name': 'web-1',
      'k8s.namespace.labels.team': 'payments',
      tier: 'gold',
      'topo.zone': 'z1',
      'topo.region': 'r1',
      'k8s.node.labels.team': 'infra',
      'k8s.pod.labels.team': 'pod-team',
      'k8s.namespace.annotations.example.com/owner': 'ops',
      'k8s.node.annotations.example.com/rack': 'r7',
    });
  });

  it('adds nothing from a Namespace or Node not known (yet), nor uids not asked for', () => {
    const c = parse({
      extract: {
        metadata: ['k8s.pod.name', 'k8s.node.uid', 'k8s.cluster.uid'],
        labels: [{ key: 'team', from: 'namespace' }],
      },
    });
    const b = new AttributeBuilder(c.extract.metadata, c.extract.labels, c.extract.annotations);
    expect(b.resource(pod, noOwners)).toEqual({
      'k8s.pod.name': 'web-1',
      'k8s.workload.kind': 'Pod',
      'k8s.workload.name': 'web-1',
    });
    const plain = new AttributeBuilder(['k8s.pod.name'], [], []);
    expect(plain.resource(pod, noOwners, objects)).toEqual({
      'k8s.pod.name': 'web-1',
      'k8s.workload.kind': 'Pod',
      'k8s.workload.name': 'web-1',
    });
  });
});

describe('k8sattributes with Namespaces and Nodes, against the API server', () => {
  const api = useFakeApiServer();
  const running = api.running;
  let server: FakeApiServer;

  function processor(settings: Record<string, unknown>, deps: Partial<Dependencies> = {}) {
    const batches: ResourceMetrics[][] = [];
    const p = new K8sAttributesProcessor(
      settingsFor('processors.k8sattributes', recordingLogger().logger),
      parse({ auth_type: 'kubeConfig', kube_config_path: server.kubeconfigPath, ...settings }),
      { consume: async (m) => void batches.push(m) },
      {
        env: { K8S_NODE_NAME: 'node-a' },
        backoff: { initialMs: 50, maxMs: 400, random: () => 0.5 },
        watches: new PodWatches(),
        objectWatches: new ObjectWatches(),
        ...deps,
      },
    );
    running.push(p);
    const attributes = async (ip: string) => {
      batches.length = 0;
      const data = await collect(
        [
          {
            name: 'dropreason.pod.drop.count',
            kind: 'counter',
            observations: [{ value: 3, attributes: { reason: 'NO_SOCKET', direction: 'ingress' } }],
          },
        ],
        resourceFromAttributes({ 'k8s.pod.ip': ip }),
      );
      await p.consume([data]);
      return batches[0]?.[0]?.resource.attributes;
    };
    return { p, attributes };
  }

  async function cluster(): Promise<{ nodeUid: string; clusterUid: string }> {
    server = await api.start();
    const clusterUid = server.addNamespace('kube-system').metadata.uid!;
    server.addNamespace('shop', { labels: { team: 'payments' }, annotations: { 'example.com/owner': 'ops' } });
    server.addNamespace('data', { labels: { team: 'storage' } });
    const nodeUid = server.addNode('node-a', { labels: { 'topology.kubernetes.io/zone': 'z1' } }).metadata.uid!;
    server.addNode('node-b', { labels: { 'topology.kubernetes.io/zone': 'z2' } });
    server.addPod({ name: 'web-1', namespace: 'shop', node: 'node-a', ips: ['10.0.0.1'] });
    server.addPod({ name: 'db-0', namespace: 'data', node: 'node-a', ips: ['10.0.0.2'] });
    return { nodeUid, clusterUid };
  }

  const EXTRACT = {
    metadata: ['k8s.pod.name', 'k8s.node.uid', 'k8s.cluster.uid'],
    labels: [
      { key: 'team', from: 'namespace' },
      { key: 'topology.kubernetes.io/zone', from: 'node', tag_name: 'zone' },
    ],
    annotations: [{ key: 'example.com/owner', from: 'namespace' }],
  };

  it('adds the Namespace and Node labels, annotations and uids, and follows their changes', async () => {
    const { nodeUid, clusterUid } = await cluster();
    const { p, attributes } = processor({
      filter: { node_from_env_var: 'K8S_NODE_NAME' },
      extract: EXTRACT,
      wait_for_metadata: true,
    });
    await p.start();
    expect(await attributes('10.0.0.1')).toMatchObject({
      'k8s.pod.name': 'web-1',
      'k8s.node.uid': nodeUid,
      'k8s.cluster.uid': clusterUid,
      'k8s.namespace.labels.team': 'payments',
      'k8s.namespace.annotations.example.com/owner': 'ops',
      zone: 'z1',
    });
    expect(await attributes('10.0.0.2')).toMatchObject({ 'k8s.namespace.labels.team': 'storage', zone: 'z1' });
    // Every Namespace (a rule reads from namespace); this node alone.
    expect(new Set(server.requestsFor('namespaces').map((r) => r.query['fieldSelector'] ?? 'all'))).toEqual(
      new Set(['all']),
    );
    expect(new Set(server.requestsFor('nodes').map((r) => r.query['fieldSelector'] ?? 'all'))).toEqual(
      new Set(['metadata.name=node-a']),
    );

    server.change('namespaces', '', 'shop', (o) => (o.metadata.labels = { team: 'checkout' }));
    server.change('nodes', '', 'node-a', (o) => (o.metadata.labels = { 'topology.kubernetes.io/zone': 'z9' }));
    await vi.waitFor(
      async () =>
        expect(await attributes('10.0.0.1')).toMatchObject({ 'k8s.namespace.labels.team': 'checkout', zone: 'z9' }),
      { timeout: 10_000, interval: 20 },
    );
  });

  it('hands on one resource for an address while nothing it is made of changes, a new one when the pod, its owner, Namespace or Node does', async () => {
    await cluster();
    server.addPod({
      name: 'api-59d8-x1',
      namespace: 'shop',
      node: 'node-a',
      ips: ['10.0.0.3'],
      owner: { kind: 'ReplicaSet', name: 'api-59d8' }, // not (yet) in the API
      labels: { 'pod-template-hash': '59d8', app: 'api' },
    });
    const { p } = processor({
      filter: { node_from_env_var: 'K8S_NODE_NAME' },
      extract: {
        ...EXTRACT,
        metadata: [...EXTRACT.metadata, 'k8s.deployment.name'],
        labels: [...EXTRACT.labels, { key: 'app' }],
      },
      wait_for_metadata: true,
    });
    await p.start();
    // The receiver hands over the same resource for an address at every collection.
    const data = await collect(
      [{ name: 'dropreason.pod.drop.count', kind: 'counter', observations: [{ value: 1, attributes: {} }] }],
      resourceFromAttributes({ 'k8s.pod.ip': '10.0.0.3' }),
    );
    const enriched = () => p.enrich([data])[0]!.resource;
    const unchanged = async (expected: Record<string, string>) => {
      await vi.waitFor(() => expect(enriched().attributes).toMatchObject(expected), { timeout: 10_000, interval: 20 });
      const made = enriched();
      expect(enriched()).toBe(made);
      return made;
    };
    const first = await unchanged({
      'k8s.deployment.name': 'api',
      'k8s.pod.labels.app': 'api',
      'k8s.namespace.labels.team': 'payments',
      zone: 'z1',
    });

    server.addReplicaSet('shop', 'api-59d8', 'api-v2');
    const second = await unchanged({ 'k8s.deployment.name': 'api-v2', 'k8s.pod.labels.app': 'api' });
    server.change('pods', 'shop', 'api-59d8-x1', (o) => (o.metadata.labels = { ...o.metadata.labels, app: 'api2' }));
    const third = await unchanged({ 'k8s.pod.labels.app': 'api2', 'k8s.deployment.name': 'api-v2' });
    server.change('namespaces', '', 'shop', (o) => (o.metadata.labels = { team: 'checkout' }));
    const fourth = await unchanged({ 'k8s.namespace.labels.team': 'checkout', 'k8s.pod.labels.app': 'api2' });
    server.change('nodes', '', 'node-a', (o) => (o.metadata.labels = { 'topology.kubernetes.io/zone': 'z9' }));
    const fifth = await unchanged({ zone: 'z9', 'k8s.namespace.labels.team': 'checkout' });
    expect(new Set([first, second, third, fourth, fifth]).size).toBe(5);
  });

  it('watches the kube-system Namespace alone for k8s.cluster.uid, and nothing more for pod keys', async () => {
    const { clusterUid } = await cluster();
    const { p, attributes } = processor({
      filter: { node: 'node-a' },
      extract: { metadata: ['k8s.pod.name', 'k8s.cluster.uid'], labels: [{ key: 'app' }] },
      wait_for_metadata: true,
    });
    await p.start();
    expect(await attributes('10.0.0.1')).toMatchObject({ 'k8s.pod.name': 'web-1', 'k8s.cluster.uid': clusterUid });
    expect(new Set(server.requestsFor('namespaces').map((r) => r.query['fieldSelector']))).toEqual(
      new Set(['metadata.name=kube-system']),
    );
    expect(server.requestsFor('nodes')).toEqual([]);
    expect(await attributes('10.0.0.1')).not.toHaveProperty('k8s.namespace.labels.team');
  });

  it('reads no Namespace and no Node when no key needs them', async () => {
    await cluster();
    const { p, attributes } = processor({ filter: { node: 'node-a' }, wait_for_metadata: true });
    await p.start();
    expect(await attributes('10.0.0.1')).toMatchObject({ 'k8s.pod.name': 'web-1', 'k8s.namespace.name': 'shop' });
    expect(server.requestsFor('pods').length).toBeGreaterThan(0);
    expect(server.requestsFor('namespaces')).toEqual([]);
    expect(server.requestsFor('nodes')).toEqual([]);
  });

  it('shares one Node and one Namespace watch between processors with the same settings, until the last shuts down', async () => {
    await cluster();
    const objectWatches = new ObjectWatches();
    const settings = { filter: { node: 'node-a' }, extract: EXTRACT, wait_for_metadata: true };
    const a = processor(settings, { objectWatches });
    const b = processor(settings, { objectWatches });
    await a.p.start();
    await b.p.start();
    expect(objectWatches.size).toBe(2);
    await vi.waitFor(() => expect([server.openWatches('namespaces'), server.openWatches('nodes')]).toEqual([1, 1]));
    expect(server.requestsFor('nodes').filter((r) => !r.watch)).toHaveLength(1);
    await a.p.shutdown();
    expect(await b.attributes('10.0.0.1')).toMatchObject({ zone: 'z1' });
    expect(objectWatches.size).toBe(2);
    await b.p.shutdown();
    expect(objectWatches.size).toBe(0);
    await vi.waitFor(() => expect([server.openWatches('namespaces'), server.openWatches('nodes')]).toEqual([0, 0]));
  });

  it('with wait_for_metadata, waits for the Namespaces and Nodes too, and says which did not come', async () => {
    await cluster();
    server.failRequests(1000, 403, (r) => r.path.endsWith('/nodes'));
    const { p } = processor({
      filter: { node: 'node-a' },
      extract: EXTRACT,
      wait_for_metadata: true,
      wait_for_metadata_timeout: '2s',
    });
    await expect(p.start()).rejects.toThrow(
      /did not sync within 2s: no list of (namespaces, )?nodes \(HTTP 403: injected failure 403\)/,
    );
  });
});
