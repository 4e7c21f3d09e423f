/**
 * The k8sattributes processor against the fake API server, through the real
 * @kubernetes/client-node: what it adds, and how it keeps up when pods change, watches
 * expire, connections drop and the API fails.
 */
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it, vi } from 'vitest';

import { configSchema, type K8sAttributesConfig } from '../../../../src/processors/k8sattributes/config.js';
import { k8sAttributesProcessorFactory } from '../../../../src/processors/k8sattributes/factory.js';
import { type Dependencies, K8sAttributesProcessor } from '../../../../src/processors/k8sattributes/processor.js';
import type { ConfigIssue } from '../../../../src/service/schema.js';
import type { FakeApiServer } from '../../../k8s/fake_api_server.js';
import { type KubeObject } from '../../../k8s/fake_api_server.js';
import { useFakeApiServer } from './fixture.js';
import { collect, recordingLogger, settingsFor } from '../../support.js';
import { parseSettings } from '../../componentconfig.js';

const api = useFakeApiServer();
const running = api.running;
let server: FakeApiServer;

async function startServer(): Promise<FakeApiServer> {
  server = await api.start();
  return server;
}

/** Settings as a user writes them, parsed by the schema (defaults filled in). */
function config(settings: Record<string, unknown> = {}): K8sAttributesConfig {
  return parseSettings(configSchema, 'processors.k8sattributes', {
    auth_type: 'kubeConfig',
    kube_config_path: server.kubeconfigPath,
    ...settings,
  });
}

const FAST_BACKOFF = { initialMs: 50, maxMs: 400, random: () => 0.5 };

interface Harness {
  processor: K8sAttributesProcessor;
  batches: ResourceMetrics[][];
  lines: string[];
  clock: { now: number };
}

function harness(settings: Record<string, unknown> = {}, deps: Partial<Dependencies> = {}): Harness {
  const { logger, lines } = recordingLogger();
  const batches: ResourceMetrics[][] = [];
  const clock = { now: 1_000_000 };
  const processor = new K8sAttributesProcessor(
    settingsFor('processors.k8sattributes', logger),
    config(settings),
    { consume: async (m) => void batches.push(m) },
    { env: {}, now: () => clock.now, backoff: FAST_BACKOFF, ...deps },
  );
  running.push(processor);
  return { processor, batches, lines, clock };
}

/** What the receiver emits for one local address: a pod-level counter, optionally with peers. */
function podData(ip: string, peers: string[] = []): Promise<ResourceMetrics> {
  const peerless = [{ value: 3, attributes: { reason: 'NO_SOCKET', direction: 'ingress' } }];
  const observations = peers.length
    ? peers.map((peer, i) => ({
        value: i + 1,
        attributes: {
          reason: 'NO_SOCKET',
          direction: 'ingress',
          'peer.address': peer,
          'peer.port': 443,
          'network.transport': 'tcp',
        },
      }))
    : peerless;
  return collect(
    [{ name: 'dropreason.pod.drop.count', unit: '{packet}', kind: 'counter', observations }],
    resourceFromAttributes({ 'service.name': 'dropreason', 'k8s.node.name': 'node-a', 'k8s.pod.ip': ip }),
  );
}

function nodeData(): Promise<ResourceMetrics> {
  return collect(
    [
      {
        name: 'dropreason.drop.count',
        kind: 'counter',
        observations: [{ value: 1, attributes: { reason: 'NO_SOCKET', direction: 'ingress' } }],
      },
    ],
    resourceFromAttributes({ 'service.name': 'dropreason', 'k8s.node.name': 'node-a' }),
  );
}

/** The resource attributes the processor passes on for one address's data. */
async function attributesFor(h: Harness, ip: string): Promise<Attributes | undefined> {
  h.batches.length = 0;
  await h.processor.consume([await podData(ip)]);
  return h.batches[0]?.[0]?.resource.attributes;
}

/** The attributes added to what the receiver gave (k8s.* beyond k8s.pod.ip and the agent's node). */
async function added(h: Harness, ip: string): Promise<Attributes | undefined> {
  const attributes = await attributesFor(h, ip);
  if (!attributes) return undefined;
  const out = { ...attributes };
  for (const key of ['service.name', 'k8s.pod.ip']) delete out[key];
  return out;
}

const known = (h: Harness, ip: string, name: string) =>
  vi.waitFor(() => expect(h.processor.podAt(ip)?.metadata.name).toBe(name), { timeout: 5_000, interval: 10 });
const unknown = (h: Harness, ip: string) =>
  vi.waitFor(() => expect(h.processor.podAt(ip)).toBeUndefined(), { timeout: 5_000, interval: 10 });

describe('k8sattributes lifecycle', () => {
  it('is created by its factory without talking to the API', async () => {
    const s = await startServer();
    const p = k8sAttributesProcessorFactory.create(settingsFor('processors.k8sattributes'), config(), {
      consume: async () => {},
    });
    expect(p).toBeInstanceOf(K8sAttributesProcessor);
    expect(s.requests).toEqual([]);
  });

  it('shuts down without being started', async () => {
    await startServer();
    await expect(harness().processor.shutdown()).resolves.toBeUndefined();
  });

  it('starts twice, shuts down twice, and starts again', async () => {
    const s = await startServer();
    s.addPod({ name: 'web-1', ips: ['10.0.0.1'] });
    const h = harness({ wait_for_metadata: true });
    await Promise.all([h.processor.start(), h.processor.start()]);
    expect(s.requestsFor('pods').filter((r) => !r.watch)).toHaveLength(1);
    await h.processor.shutdown();
    await h.processor.shutdown();
    expect(h.processor.podAt('10.0.0.1')).toBeUndefined();
    await h.processor.start();
    expect(h.processor.podAt('10.0.0.1')?.metadata.name).toBe('web-1');
    await h.processor.shutdown();
    await vi.waitFor(() => expect(s.openWatches()).toBe(0));
  });

  it('fails to start on a kubeconfig it cannot read, and says which', async () => {
    await startServer();
    const h = harness({ kube_config_path: '/nonexistent/kubeconfig' });
    await expect(h.processor.start()).rejects.toThrow(/^cannot read the kubeconfig \/nonexistent\/kubeconfig: /);
  });
});

describe('k8sattributes enrichment', () => {
  it('names a pod by its address, follows its changes and forgets it a grace period after deletion', async () => {
    const s = await startServer();
    s.addPod({ name: 'web-1', namespace: 'shop', node: 'node-a', ips: ['10.0.0.1'], labels: { team: 'a' } });
    const h = harness({
      pod_delete_grace_period: '60s',
      extract: { labels: [{ key: 'team' }, { key: 'app', tag_name: 'app' }], annotations: [{ key: 'owner' }] },
    });
    await h.processor.start();
    await known(h, '10.0.0.1', 'web-1');
    const uid = s.get('pods', 'shop', 'web-1')!.metadata.uid;
    expect(await added(h, '10.0.0.1')).toEqual({
      'k8s.pod.name': 'web-1',
      'k8s.namespace.name': 'shop',
      'k8s.pod.uid': uid,
      'k8s.node.name': 'node-a',
      'k8s.workload.kind': 'Pod',
      'k8s.workload.name': 'web-1',
      'k8s.pod.labels.team': 'a',
      app: 'web',
    });

    // A change of labels, annotations and address.
    s.change('pods', 'shop', 'web-1', (p) => {
      p.metadata.labels = { ...p.metadata.labels, team: 'b' };
      p.metadata['annotations'] = { owner: 'ops' };
      p['status'] = { phase: 'Running', podIP: '10.0.0.2', podIPs: [{ ip: '10.0.0.2' }] };
    });
    await known(h, '10.0.0.2', 'web-1');
    expect(h.processor.podAt('10.0.0.1')).toBeUndefined();
    expect(await added(h, '10.0.0.2')).toMatchObject({
      'k8s.pod.labels.team': 'b',
      'k8s.pod.annotations.owner': 'ops',
    });

    // Deleted: still named for the grace period, then passed on as it came.
    s.delete('pods', 'shop', 'web-1');
    await vi.waitFor(() => expect(h.processor.podAt('10.0.0.2')?.deletedAt).toBe(h.clock.now));
    h.clock.now += 59_000;
    expect(await added(h, '10.0.0.2')).toMatchObject({ 'k8s.pod.name': 'web-1' });
    h.clock.now += 2_000;
    expect(await added(h, '10.0.0.2')).toEqual({ 'k8s.node.name': 'node-a' });
    expect(h.processor.podAt('10.0.0.2')).toBeUndefined();
  });

  it('gives a deleted pod’s address to the pod that takes it, at once', async () => {
    const s = await startServer();
    s.addPod({ name: 'old', ips: ['10.0.0.1'] });
    const h = harness();
    await h.processor.start();
    await known(h, '10.0.0.1', 'old');
    s.delete('pods', 'default', 'old');
    s.addPod({ name: 'new', ips: ['10.0.0.1'] });
    await known(h, '10.0.0.1', 'new');
    h.clock.now += 600_000;
    expect(await added(h, '10.0.0.1')).toMatchObject({ 'k8s.pod.name': 'new' });
  });

  it('names IPv4 and IPv6 addresses of a dual-stack pod, whatever the spelling', async () => {
    const s = await startServer();
    s.addPod({ name: 'dual', ips: ['10.0.0.7', 'fd00::7'] });
    const h = harness();
    await h.processor.start();
    await known(h, '10.0.0.7', 'dual');
    expect(h.processor.podAt('fd00::7')?.metadata.name).toBe('dual');
    expect(await added(h, 'FD00:0000:0:0::7')).toMatchObject({ 'k8s.pod.name': 'dual' });
  });

  it('names the Deployment through the ReplicaSet, and from the ReplicaSet’s name when the ReplicaSet is gone', async () => {
    const s = await startServer();
    s.addReplicaSet('shop', 'web-7d4b9c8f6d', 'web');
    s.addReplicaSet('shop', 'canary-5f6d', undefined);
    s.apply('replicasets', {
      metadata: {
        name: 'roll-6c8f',
        namespace: 'shop',
        ownerReferences: [{ kind: 'Rollout', name: 'roll', controller: true }],
      },
    });
    const owned = (name: string, rs: string, ip: string, hash: string) =>
      s.addPod({
        name,
        namespace: 'shop',
        ips: [ip],
        owner: { kind: 'ReplicaSet', name: rs },
        labels: { 'pod-template-hash': hash },
      });
    owned('web-7d4b9c8f6d-x1', 'web-7d4b9c8f6d', '10.0.0.1', '7d4b9c8f6d');
    owned('canary-5f6d-x1', 'canary-5f6d', '10.0.0.2', '5f6d');
    owned('roll-6c8f-x1', 'roll-6c8f', '10.0.0.3', '6c8f');
    owned('api-59d8-x1', 'api-59d8', '10.0.0.4', '59d8'); // its ReplicaSet is already gone
    const h = harness({
      extract: { metadata: ['k8s.deployment.name', 'k8s.replicaset.name', 'k8s.workload.kind', 'k8s.workload.name'] },
    });
    await h.processor.start();
    await known(h, '10.0.0.4', 'api-59d8-x1');
    const workload = async (ip: string) => added(h, ip);
    expect(await workload('10.0.0.1')).toEqual({
      'k8s.node.name': 'node-a',
      'k8s.deployment.name': 'web',
      'k8s.replicaset.name': 'web-7d4b9c8f6d',
      'k8s.workload.kind': 'Deployment',
      'k8s.workload.name': 'web',
    });
    expect(await workload('10.0.0.2')).toMatchObject({
      'k8s.workload.kind': 'ReplicaSet',
      'k8s.workload.name': 'canary-5f6d',
    });
    expect(await workload('10.0.0.2')).not.toHaveProperty('k8s.deployment.name');
    expect(await workload('10.0.0.3')).toMatchObject({ 'k8s.workload.kind': 'Rollout', 'k8s.workload.name': 'roll' });
    expect(await workload('10.0.0.4')).toMatchObject({
      'k8s.deployment.name': 'api',
      'k8s.workload.kind': 'Deployment',
    });

    // A ReplicaSet that arrives later is used from then on.
    s.addReplicaSet('shop', 'api-59d8', 'api-v2');
    await vi.waitFor(async () => expect(await workload('10.0.0.4')).toMatchObject({ 'k8s.deployment.name': 'api-v2' }));
  });

  it('names the CronJob through the Job, and StatefulSets, DaemonSets and plain Jobs by their owner', async () => {
    const s = await startServer();
    s.addJob('batch', 'report-28391760', 'report');
    s.addJob('batch', 'migrate', undefined);
    s.addPod({
      name: 'report-28391760-abcde',
      namespace: 'batch',
      ips: ['10.0.1.1'],
      owner: { kind: 'Job', name: 'report-28391760' },
    });
    s.addPod({ name: 'migrate-xyz', namespace: 'batch', ips: ['10.0.1.2'], owner: { kind: 'Job', name: 'migrate' } });
    s.addPod({ name: 'db-0', namespace: 'data', ips: ['10.0.1.3'], owner: { kind: 'StatefulSet', name: 'db' } });
    s.addPod({
      name: 'agent-q7',
      namespace: 'kube-system',
      ips: ['10.0.1.4'],
      owner: { kind: 'DaemonSet', name: 'agent' },
    });
    const h = harness({
      wait_for_metadata: true,
      extract: { metadata: ['k8s.job.name', 'k8s.cronjob.name', 'k8s.statefulset.name', 'k8s.daemonset.name'] },
    });
    await h.processor.start();
    const pick = (a: Attributes | undefined) => {
      const out: Attributes = {};
      for (const k of Object.keys(a ?? {})) if (/(job|set|workload)/.test(k)) out[k] = a![k];
      return out;
    };
    expect(pick(await added(h, '10.0.1.1'))).toEqual({
      'k8s.job.name': 'report-28391760',
      'k8s.cronjob.name': 'report',
      'k8s.workload.kind': 'CronJob',
      'k8s.workload.name': 'report',
    });
    expect(pick(await added(h, '10.0.1.2'))).toEqual({
      'k8s.job.name': 'migrate',
      'k8s.workload.kind': 'Job',
      'k8s.workload.name': 'migrate',
    });
    expect(pick(await added(h, '10.0.1.3'))).toEqual({
      'k8s.statefulset.name': 'db',
      'k8s.workload.kind': 'StatefulSet',
      'k8s.workload.name': 'db',
    });
    expect(pick(await added(h, '10.0.1.4'))).toEqual({
      'k8s.daemonset.name': 'agent',
      'k8s.workload.kind': 'DaemonSet',
      'k8s.workload.name': 'agent',
    });
  });

  it('records the workload from the owner chain whatever extract.metadata lists', async () => {
    const s = await startServer();
    s.addReplicaSet('shop', 'web-7d4b9c8f6d', 'web');
    s.addPod({
      name: 'web-7d4b9c8f6d-x1',
      namespace: 'shop',
      ips: ['10.0.0.1'],
      owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' },
      labels: { 'pod-template-hash': 'other' }, // not the ReplicaSet's suffix: only the ReplicaSet names the Deployment
    });
    const h = harness({ extract: { metadata: ['k8s.pod.name', 'k8s.namespace.name'] }, wait_for_metadata: true });
    await h.processor.start();
    expect(new Set(s.requests.map((r) => r.path))).toEqual(
      new Set(['/api/v1/pods', '/apis/apps/v1/replicasets', '/apis/batch/v1/jobs']),
    );
    expect(await added(h, '10.0.0.1')).toEqual({
      'k8s.node.name': 'node-a',
      'k8s.pod.name': 'web-7d4b9c8f6d-x1',
      'k8s.namespace.name': 'shop',
      'k8s.workload.kind': 'Deployment',
      'k8s.workload.name': 'web',
    });
  });

  it('never gives the node’s address to a hostNetwork pod', async () => {
    const s = await startServer();
    s.addPod({ name: 'kube-proxy-x', namespace: 'kube-system', ips: ['192.168.0.10'], hostNetwork: true });
    s.addPod({ name: 'web-1', ips: ['10.0.0.1'] });
    const h = harness({ wait_for_metadata: true });
    await h.processor.start();
    expect(h.processor.podAt('10.0.0.1')?.metadata.name).toBe('web-1');
    expect(h.processor.podAt('192.168.0.10')).toBeUndefined();
    expect(await added(h, '192.168.0.10')).toEqual({ 'k8s.node.name': 'node-a' });
  });

  it('passes node-level data and data of unknown addresses on unchanged', async () => {
    await startServer();
    const h = harness({ wait_for_metadata: true });
    await h.processor.start();
    const node = await nodeData();
    const stranger = await podData('10.9.9.9');
    await h.processor.consume([node, stranger]);
    expect(h.batches).toHaveLength(1);
    expect(h.batches[0]![0]!.resource).toBe(node.resource);
    expect(h.batches[0]![1]!.resource).toBe(stranger.resource);
    expect(h.batches[0]![0]!.scopeMetrics).toBe(node.scopeMetrics);
  });

  it('drops the data of pods in excluded namespaces, or not in included ones', async () => {
    const s = await startServer();
    s.addPod({ name: 'coredns-1', namespace: 'kube-system', ips: ['10.0.0.1'] });
    s.addPod({ name: 'web-1', namespace: 'shop', ips: ['10.0.0.2'] });
    s.addPod({ name: 'batch-1', namespace: 'batch', ips: ['10.0.0.3'] });
    const data = async () => [
      await nodeData(),
      ...(await Promise.all(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.9.9.9'].map((ip) => podData(ip)))),
    ];
    const names = (h: Harness) =>
      h.batches
        .flat()
        .map((rm) => rm.resource.attributes['k8s.pod.name'] ?? rm.resource.attributes['k8s.pod.ip'] ?? 'node');

    const excluding = harness({ exclude_namespaces: ['kube-system'], wait_for_metadata: true });
    await excluding.processor.start();
    await excluding.processor.consume(await data());
    expect(names(excluding)).toEqual(['node', 'web-1', 'batch-1', '10.9.9.9']);

    const including = harness({
      include_namespaces: ['shop'],
      exclude_namespaces: ['kube-system'],
      wait_for_metadata: true,
    });
    await including.processor.start();
    await including.processor.consume(await data());
    expect(names(including)).toEqual(['node', 'web-1', '10.9.9.9']);

    // Nothing left: nothing is passed on.
    const all = harness({ include_namespaces: ['nothing-here'], wait_for_metadata: true });
    await all.processor.start();
    await all.processor.consume([await podData('10.0.0.1')]);
    expect(all.batches).toEqual([]);
  });
});

describe('k8sattributes node filter and peers', () => {
  it('watches only the pods of the node named by filter.node_from_env_var', async () => {
    const s = await startServer();
    s.addPod({ name: 'here', node: 'node-a', ips: ['10.0.0.1'] });
    s.addPod({ name: 'there', node: 'node-b', ips: ['10.0.0.2'] });
    const h = harness(
      { filter: { node_from_env_var: 'K8S_NODE_NAME' }, wait_for_metadata: true },
      { env: { K8S_NODE_NAME: 'node-a' } },
    );
    await h.processor.start();
    const pods = s.requestsFor('pods');
    expect(pods.length).toBeGreaterThanOrEqual(1);
    expect(pods.every((r) => r.query['fieldSelector'] === 'spec.nodeName=node-a')).toBe(true);
    await vi.waitFor(() => expect(s.requestsFor('pods').some((r) => r.watch)).toBe(true));
    expect(h.processor.podAt('10.0.0.1')?.metadata.name).toBe('here');
    expect(h.processor.podAt('10.0.0.2')).toBeUndefined();

    // A pod scheduled onto this node later enters the watch.
    s.addPod({ name: 'later', node: 'node-b', ips: ['10.0.0.3'] });
    s.change('pods', 'default', 'later', (p) => ((p['spec'] as Record<string, unknown>)['nodeName'] = 'node-a'));
    await known(h, '10.0.0.3', 'later');
    expect(h.processor.podAt('10.0.0.2')).toBeUndefined();
  });

  it('fails to start when the node name variable is not set', async () => {
    await startServer();
    const h = harness({ filter: { node_from_env_var: 'K8S_NODE_NAME' } }, { env: {} });
    await expect(h.processor.start()).rejects.toThrow(
      'filter.node_from_env_var: environment variable K8S_NODE_NAME is not set',
    );
  });

  it('names peers only when peer_enrichment is on, from a cluster-wide watch', async () => {
    const s = await startServer();
    s.addReplicaSet('shop', 'api-59d8', 'api');
    s.addPod({ name: 'web-1', namespace: 'shop', node: 'node-a', ips: ['10.0.0.1'] });
    s.addPod({
      name: 'api-59d8-x',
      namespace: 'shop',
      node: 'node-b',
      ips: ['10.0.5.5'],
      owner: { kind: 'ReplicaSet', name: 'api-59d8' },
    });
    const env = { K8S_NODE_NAME: 'node-a' };
    const data = () => podData('10.0.0.1', ['10.0.5.5', '203.0.113.9']);
    const points = (h: Harness) => h.batches[0]![0]!.scopeMetrics[0]!.metrics[0]!.dataPoints.map((dp) => dp.attributes);

    const off = harness({ filter: { node_from_env_var: 'K8S_NODE_NAME' }, wait_for_metadata: true }, { env });
    await off.processor.start();
    await off.processor.consume([await data()]);
    expect(points(off).map((a) => a['peer.k8s.pod.name'])).toEqual([undefined, undefined]);

    const on = harness(
      { filter: { node_from_env_var: 'K8S_NODE_NAME' }, peer_enrichment: true, wait_for_metadata: true },
      { env },
    );
    s.requests.length = 0;
    await on.processor.start();
    expect(s.requestsFor('pods').every((r) => r.query['fieldSelector'] === undefined)).toBe(true);
    await on.processor.consume([await data()]);
    expect(points(on)).toEqual([
      {
        reason: 'NO_SOCKET',
        direction: 'ingress',
        'peer.address': '10.0.5.5',
        'peer.port': 443,
        'network.transport': 'tcp',
        'peer.k8s.pod.name': 'api-59d8-x',
        'peer.k8s.namespace.name': 'shop',
        'peer.k8s.workload.kind': 'Deployment',
        'peer.k8s.workload.name': 'api',
      },
      {
        reason: 'NO_SOCKET',
        direction: 'ingress',
        'peer.address': '203.0.113.9',
        'peer.port': 443,
        'network.transport': 'tcp',
      },
    ]);
    expect(on.batches[0]![0]!.resource.attributes['k8s.pod.name']).toBe('web-1');
  });
});

describe('k8sattributes watch failures', () => {
  it('relists after a 410 Gone and ends with the API’s state', async () => {
    const s = await startServer();
    s.addPod({ name: 'a', ips: ['10.0.0.1'] });
    const h = harness({ wait_for_metadata: true, pod_delete_grace_period: '0s' });
    await h.processor.start();
    await vi.waitFor(() => expect(s.openWatches('pods')).toBe(1));
    s.expireWatches('pods');
    s.addPod({ name: 'b', ips: ['10.0.0.2'] });
    await known(h, '10.0.0.2', 'b');
    expect(s.requestsFor('pods').filter((r) => !r.watch)).toHaveLength(2);
    expect(h.processor.podAt('10.0.0.1')?.metadata.name).toBe('a');
    expect(h.lines.filter((l) => l.includes('watch failed'))).toEqual([]);
  });

  it('restarts a watch whose connection dropped, with backoff, and catches up on what it missed', async () => {
    const s = await startServer();
    s.addPod({ name: 'a', ips: ['10.0.0.1'] });
    s.addPod({ name: 'b', ips: ['10.0.0.2'] });
    const h = harness({ wait_for_metadata: true, pod_delete_grace_period: '0s' });
    await h.processor.start();
    await vi.waitFor(() => expect(s.openWatches('pods')).toBe(1));

    // The connection drops, the next three watch requests fail, and meanwhile pods change.
    s.failRequests(3, 500, (r) => r.watch && r.path === '/api/v1/pods');
    expect(s.dropWatchConnections('pods')).toBe(1);
    s.delete('pods', 'default', 'a');
    s.addPod({ name: 'c', ips: ['10.0.0.3'] });
    s.change('pods', 'default', 'b', (p) => (p.metadata.labels = { app: 'b2' }));

    await known(h, '10.0.0.3', 'c');
    await unknown(h, '10.0.0.1');
    const retries = h.lines.filter((l) => l.includes('watch failed')).map((l) => /retry_in=(\d+)ms/.exec(l)?.[1]);
    expect(retries).toEqual(['50', '100', '200', '400']);
    expect(h.lines.filter((l) => l.includes('watch failed'))[0]).toMatch(/^\S+ warn .* resource=pods /);
    await vi.waitFor(() => expect(h.lines.some((l) => l.includes('watching again'))).toBe(true));
    // The watch resumed from its last version: no second list was needed.
    expect(s.requestsFor('pods').filter((r) => !r.watch)).toHaveLength(1);

    // After recovering, the next failure starts the backoff from the beginning.
    await vi.waitFor(() => expect(s.openWatches('pods')).toBe(1));
    s.dropWatchConnections('pods');
    s.addPod({ name: 'd', ips: ['10.0.0.4'] });
    await known(h, '10.0.0.4', 'd');
    const last = h.lines.filter((l) => l.includes('watch failed')).at(-1);
    expect(last).toMatch(/attempt=1 retry_in=50ms/);
  });

  it('relists when the history it would resume from is gone, and forgets what was deleted meanwhile', async () => {
    const s = await startServer();
    s.addPod({ name: 'a', ips: ['10.0.0.1'] });
    s.addPod({ name: 'b', ips: ['10.0.0.2'] });
    const h = harness({ wait_for_metadata: true, pod_delete_grace_period: '30s' });
    await h.processor.start();
    await vi.waitFor(() => expect(s.openWatches('pods')).toBe(1));
    s.dropWatchConnections('pods');
    s.delete('pods', 'default', 'a');
    s.addPod({ name: 'c', ips: ['10.0.0.3'] });
    s.compact('pods');
    await known(h, '10.0.0.3', 'c');
    expect(s.requestsFor('pods').filter((r) => !r.watch)).toHaveLength(2);
    // The relist found `a` gone: it is deleted, kept for the grace period, then forgotten.
    expect(h.processor.podAt('10.0.0.1')?.deletedAt).toBe(h.clock.now);
    h.clock.now += 31_000;
    expect(await added(h, '10.0.0.1')).toEqual({ 'k8s.node.name': 'node-a' });
    expect(h.processor.podAt('10.0.0.2')?.metadata.name).toBe('b');
  });

  it('with wait_for_metadata, start-up waits through failing lists until the first list is in', async () => {
    const s = await startServer();
    s.addPod({ name: 'a', ips: ['10.0.0.1'] });
    s.failRequests(2, 503, (r) => !r.watch && r.path === '/api/v1/pods');
    const h = harness({ wait_for_metadata: true });
    await h.processor.start();
    expect(h.processor.podAt('10.0.0.1')?.metadata.name).toBe('a');
    const failures = h.lines.filter((l) => l.includes('watch failed'));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toContain('error="HTTP 503: injected failure 503"');
  });

  it('with wait_for_metadata, fails start-up when the first list does not come in time, and says why', async () => {
    const s = await startServer();
    s.failRequests(1000, 403, (r) => r.path === '/apis/batch/v1/jobs');
    const h = harness({ wait_for_metadata: true, wait_for_metadata_timeout: '2s' });
    // Under load the pods and ReplicaSets may not be listed in time either: they may be named too.
    await expect(h.processor.start()).rejects.toThrow(
      /^Kubernetes metadata did not sync within 2s: no list of (pods, )?(replicasets, )?jobs \(HTTP 403: injected failure 403\)$/,
    );
    // It stopped everything it started.
    await vi.waitFor(() => expect(s.openWatches()).toBe(0));
  });

  it('without wait_for_metadata, starts at once and names pods once they are listed', async () => {
    const s = await startServer();
    s.addPod({ name: 'a', ips: ['10.0.0.1'] });
    const h = harness();
    await h.processor.start();
    await known(h, '10.0.0.1', 'a');
  });
});

describe('k8sattributes without an API', () => {
  it('passes everything through and says once that no API is configured', async () => {
    const { logger, lines } = recordingLogger();
    const batches: ResourceMetrics[][] = [];
    const processor = new K8sAttributesProcessor(
      settingsFor('processors.k8sattributes', logger),
      (() => {
        const issues: ConfigIssue[] = [];
        return configSchema.parse({ auth_type: 'none' }, 'processors.k8sattributes', issues)!;
      })(),
      { consume: async (m) => void batches.push(m) },
      {
        kubeConfig: () => {
          throw new Error('no API should be used');
        },
      },
    );
    running.push(processor);
    await processor.start();
    await processor.start();
    const data = [await podData('10.0.0.1'), await nodeData()];
    await processor.consume(data);
    await processor.consume(data);
    expect(batches).toEqual([data, data]);
    expect(batches[0]).toBe(data);
    expect(lines.filter((l) => l.includes('no Kubernetes API is configured'))).toHaveLength(1);
    await processor.shutdown();
    await processor.start();
    expect(lines.filter((l) => l.includes('no Kubernetes API is configured'))).toHaveLength(1);
  });
});

describe("k8sattributes with the Collector's filter and extract keys", () => {
  it('narrows the pod watch by filter.namespace, filter.fields and filter.labels, as the API server selects', async () => {
    const s = await startServer();
    s.addPod({ name: 'web-1', namespace: 'shop', node: 'node-a', ips: ['10.0.0.1'], labels: { team: 'a' } });
    s.addPod({
      name: 'web-2',
      namespace: 'shop',
      node: 'node-a',
      ips: ['10.0.0.2'],
      labels: { team: 'a', canary: 'y' },
    });
    s.addPod({ name: 'web-3', namespace: 'shop', node: 'node-a', ips: ['10.0.0.3'] });
    s.addPod({ name: 'batch-1', namespace: 'shop', node: 'node-a', ips: ['10.0.0.4'], labels: { team: 'a' } });
    s.addPod({ name: 'api-1', namespace: 'other', node: 'node-a', ips: ['10.0.0.5'], labels: { team: 'a' } });
    const h = harness({
      filter: {
        node: 'node-a',
        namespace: 'shop',
        fields: [{ key: 'metadata.name', value: 'batch-1', op: 'not-equals' }],
        labels: [
          { key: 'team', op: 'exists' },
          { key: 'canary', op: 'does-not-exist' },
        ],
      },
      wait_for_metadata: true,
    });
    await h.processor.start();
    const query = s.requestsFor('pods')[0]!.query;
    expect(query['fieldSelector']).toBe('spec.nodeName=node-a,metadata.namespace=shop,metadata.name!=batch-1');
    expect(query['labelSelector']).toBe('team,!canary');
    const known = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].filter((ip) => h.processor.podAt(ip));
    expect(known).toEqual(['10.0.0.1']);
  });

  it('adds the uid and start-time keys, key_regex and otel_annotations matches, and leaves exclude.pods unnamed', async () => {
    const s = await startServer();
    s.addReplicaSet('shop', 'web-7d4b9c8f6d', 'web');
    const web = s.addPod({
      name: 'web-7d4b9c8f6d-x1',
      namespace: 'shop',
      ips: ['10.0.0.1'],
      owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' },
      labels: {
        'pod-template-hash': '7d4b9c8f6d',
        'app.kubernetes.io/name': 'web',
        'app.kubernetes.io/part-of': 'shop',
      },
      annotations: { 'resource.opentelemetry.io/team': 'checkout', other: 'x' },
    });
    s.change('pods', 'shop', 'web-7d4b9c8f6d-x1', (o) => {
      (o['status'] as Record<string, unknown>)['startTime'] = '2026-11-29T21:00:00Z';
    });
    s.addPod({ name: 'otel-agent-q7', namespace: 'obs', ips: ['10.0.0.2'] });
    const h = harness({
      extract: {
        metadata: ['k8s.pod.name', 'k8s.pod.uid', 'k8s.pod.start_time', 'k8s.deployment.uid', 'k8s.replicaset.uid'],
        labels: [{ key_regex: 'app\\.kubernetes\\.io/(.*)', tag_name: 'app.$1' }],
        otel_annotations: true,
      },
      exclude: { pods: [{ name: '^otel-' }] },
      wait_for_metadata: true,
    });
    await h.processor.start();
    await known(h, '10.0.0.1', 'web-7d4b9c8f6d-x1');
    const rs = s.get('replicasets', 'shop', 'web-7d4b9c8f6d')!;
    const ref = (o: KubeObject) => (o.metadata['ownerReferences'] as Array<{ uid: string }>)[0]!.uid;
    expect(await added(h, '10.0.0.1')).toEqual({
      'k8s.node.name': 'node-a',
      'k8s.pod.name': 'web-7d4b9c8f6d-x1',
      'k8s.pod.uid': web.metadata['uid'],
      'k8s.pod.start_time': '2026-11-29T21:00:00Z',
      'k8s.replicaset.uid': ref(s.get('pods', 'shop', 'web-7d4b9c8f6d-x1')!),
      'k8s.deployment.uid': ref(rs),
      'k8s.workload.kind': 'Deployment',
      'k8s.workload.name': 'web',
      'app.name': 'web',
      'app.part-of': 'shop',
      team: 'checkout',
    });
    // Known to the cache, but left unnamed.
    expect(h.processor.podAt('10.0.0.2')?.metadata.name).toBe('otel-agent-q7');
    expect(await added(h, '10.0.0.2')).toEqual({ 'k8s.node.name': 'node-a' });
  });

  it('with passthrough, watches nothing and passes data on unchanged', async () => {
    await startServer();
    const h = harness(
      { passthrough: true },
      {
        kubeConfig: () => {
          throw new Error('no API should be used');
        },
      },
    );
    await h.processor.start();
    const data = [await podData('10.0.0.1')];
    await h.processor.consume(data);
    expect(h.batches).toEqual([data]);
    expect(h.lines.filter((l) => l.includes('passthrough'))).toHaveLength(1);
  });
});
