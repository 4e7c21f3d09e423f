/**
 * Processors with the same watch settings share one PodWatch: one list and one watch per
 * kind on the API server, stopped when the last of them shuts down. Against the fake API
 * server, through the real client library.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it, vi } from 'vitest';

import { configSchema } from '../../../../src/processors/k8sattributes/config.js';
import { PodWatches } from '../../../../src/processors/k8sattributes/pod_watch.js';
import { K8sAttributesProcessor } from '../../../../src/processors/k8sattributes/processor.js';
import type { FakeApiServer } from '../../../k8s/fake_api_server.js';
import { useFakeApiServer } from './fixture.js';
import { collect, settingsFor } from '../../support.js';
import { parseSettings } from '../../componentconfig.js';

const api = useFakeApiServer();
const running = api.running;
let server: FakeApiServer;

const FAST_BACKOFF = { initialMs: 50, maxMs: 400, random: () => 0.5 };

function processor(watches: PodWatches, settings: Record<string, unknown> = {}) {
  const config = parseSettings(configSchema, 'processors.k8sattributes', {
    auth_type: 'kubeConfig',
    kube_config_path: server.kubeconfigPath,
    wait_for_metadata: true,
    ...settings,
  });
  const batches: ResourceMetrics[][] = [];
  const p = new K8sAttributesProcessor(
    settingsFor('processors.k8sattributes'),
    config,
    { consume: async (m) => void batches.push(m) },
    { env: {}, backoff: FAST_BACKOFF, watches },
  );
  running.push(p);
  return { p, batches };
}

async function podName(h: ReturnType<typeof processor>, ip: string): Promise<unknown> {
  h.batches.length = 0;
  const data = await collect(
    [{ name: 'dropreason.pod.drop.count', kind: 'counter', observations: [{ value: 1, attributes: {} }] }],
    resourceFromAttributes({ 'k8s.pod.ip': ip }),
  );
  await h.p.consume([data]);
  return h.batches[0]?.[0]?.resource.attributes['k8s.pod.name'];
}

const lists = (kind: 'pods' | 'replicasets' | 'jobs') => server.requestsFor(kind).filter((r) => !r.watch).length;

describe('PodWatches shared by processors', () => {
  it('lists and watches once for two processors, and stops when the last one shuts down', async () => {
    server = await api.start();
    server.addPod({ name: 'web-1', ips: ['10.0.0.1'] });
    const watches = new PodWatches();
    const one = processor(watches);
    const two = processor(watches, { include_namespaces: ['default'] });
    await Promise.all([one.p.start(), two.p.start()]);
    expect(watches.size).toBe(1);
    await vi.waitFor(() => expect(server.openWatches()).toBe(3));
    expect([lists('pods'), lists('replicasets'), lists('jobs')]).toEqual([1, 1, 1]);
    expect(await podName(one, '10.0.0.1')).toBe('web-1');
    expect(await podName(two, '10.0.0.1')).toBe('web-1');

    // The first one goes: the other keeps the watch and still sees new pods.
    await one.p.shutdown();
    await one.p.shutdown();
    expect(watches.size).toBe(1);
    expect(server.openWatches()).toBe(3);
    expect(await podName(one, '10.0.0.1')).toBeUndefined();
    server.addPod({ name: 'web-2', ips: ['10.0.0.2'] });
    await vi.waitFor(() => expect(two.p.podAt('10.0.0.2')?.metadata.name).toBe('web-2'));

    // The last one goes: the watches end and the cache is dropped.
    await two.p.shutdown();
    expect(watches.size).toBe(0);
    await vi.waitFor(() => expect(server.openWatches()).toBe(0));

    // Started again, a processor makes a new watch, with a new list.
    await two.p.start();
    expect(await podName(two, '10.0.0.2')).toBe('web-2');
    expect(lists('pods')).toBe(2);
  });

  it('gives processors whose watch settings differ watches of their own', async () => {
    server = await api.start();
    const watches = new PodWatches();
    const node = processor(watches, { filter: { node: 'node-a' } });
    const labels = processor(watches, { filter: { node: 'node-a' }, extract: { labels: [{ key: 'team' }] } });
    const grace = processor(watches, { filter: { node: 'node-a' }, pod_delete_grace_period: '10s' });
    const everyPod = processor(watches);
    await Promise.all([node, labels, grace, everyPod].map((h) => h.p.start()));
    expect(watches.size).toBe(4);
  });

  it('registers nothing when the kubeconfig cannot be read', async () => {
    server = await api.start();
    const watches = new PodWatches();
    const broken = processor(watches, { kube_config_path: '/nonexistent/kubeconfig' });
    await expect(broken.p.start()).rejects.toThrow(/^cannot read the kubeconfig/);
    expect(watches.size).toBe(0);
  });
});
