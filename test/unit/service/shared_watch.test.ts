/**
 * A k8sattributes processor in two pipelines: the service makes one instance per pipeline,
 * and they share one watch of the API server. Checked on the wire, against the fake
 * Kubernetes API server, with the real processor and client library.
 */
import fs from 'node:fs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { k8sAttributesProcessorFactory } from '../../../src/processors/k8sattributes/factory.js';
import { podWatches } from '../../../src/processors/k8sattributes/pod_watch.js';
import type { Component, Factory, MetricsConsumer, ResourceMetrics } from '../../../src/service/component.js';
import { parseConfig, type Registry } from '../../../src/service/config.js';
import { object } from '../../../src/service/schema.js';
import { Service } from '../../../src/service/service.js';
import { type Certificates, FakeApiServer, makeCertificates } from '../../k8s/fake_api_server.js';
import { collect, recordingLogger, testResource } from '../support.js';

let certificates: Certificates;
let server: FakeApiServer | undefined;
let service: Service | undefined;

beforeAll(() => {
  certificates = makeCertificates();
});
afterAll(() => fs.rmSync(certificates.dir, { recursive: true, force: true }));
afterEach(async () => {
  await service?.shutdown();
  await server?.close();
  service = undefined;
  server = undefined;
});

/** A receiver the test pushes through, and exporters that keep what they get, with the real processor. */
function registry() {
  const receivers = new Map<string, MetricsConsumer>();
  const received = new Map<string, ResourceMetrics[][]>();
  const none = object({});
  const idle = { start: async () => {}, shutdown: async () => {} };
  const source: Factory<unknown, Component> = {
    type: 'source',
    kind: 'receiver',
    configSchema: none,
    create(settings, _config, next) {
      receivers.set(settings.id, next);
      return idle;
    },
  };
  const sink: Factory<unknown, Component & MetricsConsumer> = {
    type: 'sink',
    kind: 'exporter',
    configSchema: none,
    create(settings) {
      received.set(settings.id, []);
      return { ...idle, consume: async (m) => void received.get(settings.id)!.push(m) };
    },
  };
  const reg: Registry = {
    receiver: [source],
    processor: [k8sAttributesProcessorFactory as unknown as Factory<unknown, Component>],
    exporter: [sink as Factory<unknown, Component>],
    extension: [],
  };
  return { reg, receivers, received };
}

/** What the receiver emits for one local address. */
function podData(ip: string): Promise<ResourceMetrics> {
  return collect(
    [
      {
        name: 'dropreason.pod.drop.count',
        kind: 'counter',
        observations: [{ value: 3, attributes: { reason: 'NO_SOCKET', direction: 'ingress' } }],
      },
    ],
    resourceFromAttributes({ 'service.name': 'dropreason', 'k8s.pod.ip': ip }),
  );
}

async function setUp(processors: string, pipelines: string) {
  server = await FakeApiServer.start({ certificates });
  server.addReplicaSet('shop', 'web-7d9f8', 'web');
  server.addPod({
    name: 'web-7d9f8-x2k4p',
    namespace: 'shop',
    node: 'node-a',
    ips: ['10.0.0.1'],
    owner: { kind: 'ReplicaSet', name: 'web-7d9f8' },
    labels: { 'pod-template-hash': '7d9f8' },
  });
  const { reg, receivers, received } = registry();
  const yaml = `
receivers:
  source/a:
  source/b:
processors:
${processors.replaceAll('KUBECONFIG', server.kubeconfigPath)}
exporters:
  sink/a:
  sink/b:
service:
  pipelines:
${pipelines}`;
  service = new Service(parseConfig(yaml, reg, {}), recordingLogger().logger, testResource);
  return { server, service, receivers, received };
}

const PROCESSOR = `
    auth_type: kubeConfig
    kube_config_path: KUBECONFIG
    filter:
      node: node-a
    wait_for_metadata: true`;

/** Two pipelines: source/a through the processors `a` to sink/a, and likewise b. */
const twoPipelines = (a: string, b: string) => `
    metrics/a:
      receivers: [source/a]
      processors: [${a}]
      exporters: [sink/a]
    metrics/b:
      receivers: [source/b]
      processors: [${b}]
      exporters: [sink/b]
`;

describe('k8sattributes in several pipelines', () => {
  it('makes one watch of each kind for two pipelines, both enrich, and the watch ends with the service', async () => {
    const before = podWatches.size;
    const { server, service, receivers, received } = await setUp(
      `  k8sattributes:${PROCESSOR}`,
      twoPipelines('k8sattributes', 'k8sattributes'),
    );
    await service.start();
    expect(podWatches.size).toBe(before + 1);
    await vi.waitFor(() => expect(server.openWatches()).toBe(3));
    expect(server.openWatches('pods')).toBe(1);
    for (const kind of ['pods', 'replicasets', 'jobs'] as const) {
      const requests = server.requestsFor(kind);
      expect(
        requests.filter((r) => !r.watch),
        `${kind} lists`,
      ).toHaveLength(1);
      expect(
        requests.filter((r) => r.watch),
        `${kind} watches`,
      ).toHaveLength(1);
    }

    for (const id of ['receivers.source/a', 'receivers.source/b'])
      await receivers.get(id)!.consume([await podData('10.0.0.1')]);
    for (const id of ['exporters.sink/a', 'exporters.sink/b']) {
      const [batch] = received.get(id)!;
      expect(batch?.[0]?.resource.attributes, id).toMatchObject({
        'k8s.pod.ip': '10.0.0.1',
        'k8s.pod.name': 'web-7d9f8-x2k4p',
        'k8s.namespace.name': 'shop',
        'k8s.deployment.name': 'web',
        'k8s.workload.kind': 'Deployment',
      });
    }

    await service.shutdown();
    expect(podWatches.size).toBe(before);
    await vi.waitFor(() => expect(server.openWatches()).toBe(0));
  });

  it('shares between processors of other names whose watch settings are the same, not between different ones', async () => {
    const { server, service, receivers, received } = await setUp(
      `  k8sattributes:${PROCESSOR}
  k8sattributes/shop_only:${PROCESSOR}
    include_namespaces: [shop]
  k8sattributes/peers:${PROCESSOR}
    peer_enrichment: true`,
      twoPipelines('k8sattributes', 'k8sattributes/shop_only, k8sattributes/peers'),
    );
    await service.start();
    // One watch for the node's pods (k8sattributes and shop_only), one for every pod (peers).
    await vi.waitFor(() => expect(server.openWatches('pods')).toBe(2));
    const pods = server.requestsFor('pods').filter((r) => r.watch);
    expect(pods.map((r) => r.query['fieldSelector'] ?? 'all').sort()).toEqual(['all', 'spec.nodeName=node-a']);

    await receivers.get('receivers.source/b')!.consume([await podData('10.0.0.1')]);
    expect(received.get('exporters.sink/b')![0]![0]!.resource.attributes['k8s.pod.name']).toBe('web-7d9f8-x2k4p');
    await service.shutdown();
    await vi.waitFor(() => expect(server.openWatches()).toBe(0));
  });
});
