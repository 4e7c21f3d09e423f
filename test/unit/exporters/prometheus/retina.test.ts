/**
 * Retina's context labels on the pod-level series: local (the pod on this node) and remote
 * (source_* and destination_*, placed by direction), as Retina's dashboards query them.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterEach, describe, expect, it } from 'vitest';

import type { PrometheusConfig } from '../../../../src/exporters/prometheus/config.js';
import { PrometheusExporter } from '../../../../src/exporters/prometheus/exporter.js';
import { retinaPodLabels, retinaRemoteLabels } from '../../../../src/exporters/prometheus/retina.js';
import { DROP_COUNT, POD_DROP_COUNT } from '../../../../src/receiver/dropreason/metadata.generated.js';
import { InterfaceTable } from '../../../../src/receiver/dropreason/interfaces.js';
import { collect, settingsFor } from '../../support.js';
import { exporterConfig } from './fixtures.js';

/** The resource the k8sattributes processor leaves on a pod's data. */
const WEB = {
  'service.name': 'dropreason',
  'k8s.node.name': 'node-a',
  'k8s.pod.ip': '10.0.0.1',
  'k8s.pod.name': 'web-7d9f8-x2k4p',
  'k8s.namespace.name': 'shop',
  'k8s.deployment.name': 'web',
  'k8s.workload.kind': 'Deployment',
  'k8s.workload.name': 'web',
};

/** A peer that is a pod (peer_enrichment on). */
const DB_PEER = {
  'peer.address': '10.0.5.5',
  'peer.k8s.pod.name': 'db-0',
  'peer.k8s.namespace.name': 'data',
  'peer.k8s.workload.kind': 'StatefulSet',
  'peer.k8s.workload.name': 'db',
};

const webEnd = (prefix: string) => ({
  [`${prefix}ip`]: '10.0.0.1',
  [`${prefix}namespace`]: 'shop',
  [`${prefix}podname`]: 'web-7d9f8-x2k4p',
  [`${prefix}workload_kind`]: 'Deployment',
  [`${prefix}workload_name`]: 'web',
});
const dbEnd = (prefix: string) => ({
  [`${prefix}ip`]: '10.0.5.5',
  [`${prefix}namespace`]: 'data',
  [`${prefix}podname`]: 'db-0',
  [`${prefix}workload_kind`]: 'StatefulSet',
  [`${prefix}workload_name`]: 'db',
});
/**
 * An end without a pod, as Retina writes one (pkg/module/metrics/types.go: an endpoint
 * that is not known reads "unknown"; the ip is the packet's address, "unknown" without one).
 */
const outsideEnd = (prefix: string, ip: string) => ({
  [`${prefix}ip`]: ip || 'unknown',
  [`${prefix}namespace`]: 'unknown',
  [`${prefix}podname`]: 'unknown',
  [`${prefix}workload_kind`]: 'unknown',
  [`${prefix}workload_name`]: 'unknown',
});

/** An exporter's config with naming retina on a free port, the rest as the defaults. */
const retinaConfig = (config: Partial<PrometheusConfig>) => exporterConfig({ naming: 'retina', ...config });

describe('Retina remote context', () => {
  it('makes the pod the source of an egress drop and the peer pod its destination', () => {
    const point = { reason: 'IPTABLE_RULE_DROP', direction: 'egress', 'peer.port': 5432, ...DB_PEER };
    expect(retinaRemoteLabels(WEB, point, POD_DROP_COUNT)).toEqual({
      reason: 'IPTABLE_RULE_DROP',
      direction: 'egress',
      'peer.port': 5432,
      ...webEnd('source_'),
      ...dbEnd('destination_'),
    });
  });

  it('makes the pod the destination of an ingress drop and the peer its source', () => {
    const point = { reason: 'NO_SOCKET', direction: 'ingress', ...DB_PEER };
    expect(retinaRemoteLabels(WEB, point, POD_DROP_COUNT)).toEqual({
      reason: 'NO_SOCKET',
      direction: 'ingress',
      ...dbEnd('source_'),
      ...webEnd('destination_'),
    });
  });

  it('names a peer that is no pod by its address only, and writes unknown for a peer without peer.address', () => {
    expect(
      retinaRemoteLabels(
        WEB,
        { reason: 'NO_SOCKET', direction: 'ingress', 'peer.address': '203.0.113.9' },
        POD_DROP_COUNT,
      ),
    ).toEqual({
      reason: 'NO_SOCKET',
      direction: 'ingress',
      ...outsideEnd('source_', '203.0.113.9'),
      ...webEnd('destination_'),
    });
    expect(retinaRemoteLabels(WEB, { reason: 'NO_SOCKET', direction: 'egress' }, POD_DROP_COUNT)).toEqual({
      reason: 'NO_SOCKET',
      direction: 'egress',
      ...webEnd('source_'),
      ...outsideEnd('destination_', ''),
    });
  });

  it('makes the pod the source when the direction is unknown, as the kernel side takes its address from the source', () => {
    const labels = retinaRemoteLabels(
      WEB,
      {
        reason: 'UNKNOWN_DROP',
        direction: 'unknown',
        'peer.address': '10.9.9.9',
      },
      POD_DROP_COUNT,
    );
    expect(labels).toMatchObject({ source_ip: '10.0.0.1', destination_ip: '10.9.9.9' });
  });

  it('keeps a node-level series as it is, and gives a pod-level one without an address two unknown ends', () => {
    const node = { 'service.name': 'dropreason' };
    const point = { reason: 'UNHANDLED_PROTO', direction: 'ingress' };
    expect(retinaRemoteLabels(node, point, DROP_COUNT)).toEqual(point);
    expect(retinaRemoteLabels(node, point, POD_DROP_COUNT)).toEqual({
      ...point,
      ...outsideEnd('source_', ''),
      ...outsideEnd('destination_', ''),
    });
  });

  it('names an address no pod owns "unknown"', () => {
    const stranger = { 'service.name': 'dropreason', 'k8s.pod.ip': '10.0.0.9' };
    expect(
      retinaRemoteLabels(stranger, { reason: 'NO_SOCKET', direction: 'egress', ...DB_PEER }, POD_DROP_COUNT),
    ).toEqual({
      reason: 'NO_SOCKET',
      direction: 'egress',
      ...outsideEnd('source_', '10.0.0.9'),
      ...dbEnd('destination_'),
    });
  });

  it('leaves node-level data as it is', () => {
    const point = { reason: 'NO_SOCKET', direction: 'ingress' };
    expect(retinaRemoteLabels({ 'service.name': 'dropreason', 'k8s.node.name': 'node-a' }, point, DROP_COUNT)).toBe(
      point,
    );
  });
});

describe('Retina local context', () => {
  it('labels the pod on this node without prefix, and node-level data not at all', () => {
    expect(retinaPodLabels(WEB)).toEqual(webEnd(''));
    expect(retinaPodLabels({ 'k8s.node.name': 'node-a' })).toEqual({});
  });

  it('labels an address no pod owns "unknown", keeping its ip', () => {
    expect(retinaPodLabels({ 'k8s.node.name': 'node-a', 'k8s.pod.ip': '10.0.0.9' })).toEqual(
      outsideEnd('', '10.0.0.9'),
    );
  });
});

describe('PrometheusExporter with retina_context', () => {
  const running: PrometheusExporter[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((e) => e.shutdown()));
  });

  async function scrape(config: Partial<PrometheusConfig>): Promise<string[]> {
    const e = new PrometheusExporter(settingsFor('exporters.prometheus/retina'), retinaConfig(config));
    running.push(e);
    await e.start();
    const egress = { reason: 'IPTABLE_RULE_DROP', direction: 'egress', 'peer.address': '10.0.0.2' };
    const ingress = { reason: 'IPTABLE_RULE_DROP', direction: 'ingress', 'peer.address': '10.0.0.2' };
    await e.consume([
      await collect(
        [
          {
            name: 'dropreason.pod.drop.count',
            kind: 'counter',
            observations: [
              { value: 41, attributes: egress },
              { value: 43, attributes: ingress },
            ],
          },
        ],
        resourceFromAttributes(WEB),
      ),
    ]);
    const text = await (await fetch(`http://127.0.0.1:${e.address()!.port}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith('networkobservability_adv_drop_count{'));
  }

  it('serves source_* and destination_* labels with retina_context remote', async () => {
    const web = 'source_namespace="shop",source_podname="web-7d9f8-x2k4p",source_workload_kind="Deployment"';
    expect(await scrape({ retina_context: 'remote' })).toEqual([
      'networkobservability_adv_drop_count{destination_ip="10.0.0.2",destination_namespace="unknown",destination_podname="unknown",' +
        'destination_workload_kind="unknown",destination_workload_name="unknown",direction="egress",reason="IPTABLE_RULE_DROP",' +
        `source_ip="10.0.0.1",${web},source_workload_name="web"} 41`,
      'networkobservability_adv_drop_count{destination_ip="10.0.0.1",destination_namespace="shop",' +
        'destination_podname="web-7d9f8-x2k4p",destination_workload_kind="Deployment",destination_workload_name="web",' +
        'direction="ingress",reason="IPTABLE_RULE_DROP",source_ip="10.0.0.2",source_namespace="unknown",source_podname="unknown",' +
        'source_workload_kind="unknown",source_workload_name="unknown"} 43',
    ]);
  });

  it('serves the local context by default', async () => {
    const pod = 'ip="10.0.0.1",namespace="shop",peer_address="10.0.0.2",podname="web-7d9f8-x2k4p"';
    expect(await scrape({})).toEqual([
      `networkobservability_adv_drop_count{direction="egress",${pod},reason="IPTABLE_RULE_DROP",workload_kind="Deployment",workload_name="web"} 41`,
      `networkobservability_adv_drop_count{direction="ingress",${pod},reason="IPTABLE_RULE_DROP",workload_kind="Deployment",workload_name="web"} 43`,
    ]);
  });
});

describe('PrometheusExporter with naming retina: interface drops', () => {
  const running: PrometheusExporter[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((e) => e.shutdown()));
  });

  for (const context of [undefined, 'remote'] as const) {
    it(`serves networkobservability_interface_stats{interface_name, statistic_name} (retina_context ${context ?? 'local'})`, async () => {
      const e = new PrometheusExporter(
        settingsFor('exporters.prometheus/retina'),
        retinaConfig({ const_labels: { cluster: 'prod' }, retina_context: context }),
      );
      running.push(e);
      await e.start();
      const table = new InterfaceTable();
      const zero = { rx_missed_errors: 0, rx_fifo_errors: 0, rx_over_errors: 0 };
      table.update([{ name: 'eth0', ifindex: 2, counters: { rx_dropped: 7, tx_dropped: 2, ...zero } }], 1000);
      await e.consume([
        {
          resource: resourceFromAttributes({ 'service.name': 'dropreason', 'k8s.node.name': 'node-a' }),
          scopeMetrics: [{ scope: { name: 'dropreason' }, metrics: [table.metricData(2000)] }],
        },
      ]);
      const text = await (await fetch(`http://127.0.0.1:${e.address()!.port}/metrics`)).text();
      expect(text).toContain('# TYPE networkobservability_interface_stats gauge\n');
      const lines = text.split('\n').filter((l) => l.startsWith('networkobservability_interface_stats{'));
      const at = (s: string, v: number) =>
        `networkobservability_interface_stats{cluster="prod",interface_name="eth0",statistic_name="${s}"} ${v}`;
      expect(lines).toEqual([
        at('rx_dropped', 7),
        at('rx_missed_errors', 0),
        at('rx_fifo_errors', 0),
        at('rx_over_errors', 0),
        at('tx_dropped', 2),
      ]);
    });
  }
});
