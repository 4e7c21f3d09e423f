/**
 * The Prometheus text format (0.0.4) of real SDK output, against golden files in
 * src/exporters/prometheus/testdata written by hand from the format's rules: one
 * `# HELP` and `# TYPE` per family, counters end in `_total`, label values escape
 * backslash, double quote and newline.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import {
  allResourceLabels,
  formatValue,
  type LabelCache,
  serialize,
} from '../../../../src/translator/prometheus/serializer.js';
import { DROP_BYTES, DROP_COUNT, metadata } from '../../../../src/receiver/dropreason/metadata.generated.js';
import { BYTES_DESCRIPTION, COUNT_DESCRIPTION, collect, dropCounters } from '../../support.js';
import { DROPS, golden } from '../../exporters/prometheus/fixtures.js';

describe('serialize: golden files', () => {
  it('uses the descriptions the receiver publishes', () => {
    expect(metadata.metrics[DROP_COUNT]).toMatchObject({ description: COUNT_DESCRIPTION, unit: '{packet}' });
    expect(metadata.metrics[DROP_BYTES]).toMatchObject({ description: BYTES_DESCRIPTION, unit: 'By' });
  });

  it('writes the drop counters as Prometheus counters (drops.prom)', async () => {
    expect(serialize([await collect(dropCounters(DROPS))])).toBe(golden('drops.prom'));
  });

  it('prefixes every name with the namespace (drops_namespace_node.prom)', async () => {
    expect(serialize([await collect(dropCounters(DROPS))], { namespace: 'node' })).toBe(
      golden('drops_namespace_node.prom'),
    );
  });

  it("serves Retina's gauge names when asked (drops_retina.prom)", async () => {
    const gaugeNames = new Map([
      ['dropreason.drop.count', 'networkobservability_drop_count'],
      ['dropreason.drop.bytes', 'networkobservability_drop_bytes'],
    ]);
    expect(serialize([await collect(dropCounters(DROPS))], { gaugeNames })).toBe(golden('drops_retina.prom'));
  });
});

describe('serialize: the Collector options (golden files)', () => {
  /** The drops with a fixed collection time, 2025-11-30T00:00:00.123456789Z. */
  async function fixedTime(): Promise<ResourceMetrics> {
    const rm = await collect(dropCounters(DROPS));
    for (const m of rm.scopeMetrics[0]!.metrics)
      for (const p of m.dataPoints) (p as { endTime: [number, number] }).endTime = [1764460800, 123456789];
    return rm;
  }

  it('writes OpenMetrics text: counter families without _total, samples with it, # EOF (drops_openmetrics.prom)', async () => {
    expect(serialize([await fixedTime()], { format: 'openmetrics' })).toBe(golden('drops_openmetrics.prom'));
  });

  it('writes times in milliseconds with send_timestamps (drops_timestamps.prom)', async () => {
    expect(serialize([await fixedTime()], { timestamps: true })).toBe(golden('drops_timestamps.prom'));
  });

  it('writes OpenMetrics times in seconds (drops_openmetrics_timestamps.prom)', async () => {
    expect(serialize([await fixedTime()], { format: 'openmetrics', timestamps: true })).toBe(
      golden('drops_openmetrics_timestamps.prom'),
    );
  });

  it('leaves _total off counters without suffixes (drops_no_suffixes.prom), but not in OpenMetrics', async () => {
    const rm = await fixedTime();
    expect(serialize([rm], { suffixes: false })).toBe(golden('drops_no_suffixes.prom'));
    expect(serialize([rm], { suffixes: false, format: 'openmetrics' })).toBe(golden('drops_openmetrics.prom'));
  });

  it('makes every resource attribute a label with allResourceLabels, and only a pod’s k8s.* without', async () => {
    const rm = await collect(
      dropCounters([['NO_SOCKET', 'ingress', 1, 60]]),
      resourceFromAttributes({ 'host.name': 'n1', 'k8s.cluster.name': 'prod', 'k8s.pod.ip': '10.0.0.7' }),
    );
    const line = (text: string) => text.split('\n').find((l) => l.startsWith('dropreason_drop_count_total'));
    expect(line(serialize([rm], { resourceLabels: allResourceLabels }))).toBe(
      'dropreason_drop_count_total{direction="ingress",host_name="n1",k8s_cluster_name="prod",k8s_pod_ip="10.0.0.7",reason="NO_SOCKET"} 1',
    );
    expect(line(serialize([rm]))).toBe(
      'dropreason_drop_count_total{direction="ingress",k8s_cluster_name="prod",k8s_pod_ip="10.0.0.7",reason="NO_SOCKET"} 1',
    );
  });
});

describe('serialize: the format rules', () => {
  it('escapes backslash, double quote and newline in label values', async () => {
    const rm = await collect(dropCounters([['a\\b"c\nd', 'ingress', 1, 2]]));
    const lines = serialize([rm]).split('\n');
    expect(lines).toContain('dropreason_drop_count_total{direction="ingress",reason="a\\\\b\\"c\\nd"} 1');
    expect(lines).toContain('dropreason_drop_bytes_total{direction="ingress",reason="a\\\\b\\"c\\nd"} 2');
  });

  it('escapes backslash and newline in HELP, and leaves out HELP without a description', async () => {
    const rm = await collect([
      { name: 'a', description: 'line one\nC:\\path', kind: 'gauge', observations: [{ value: 1, attributes: {} }] },
      { name: 'b', kind: 'gauge', observations: [{ value: 2, attributes: {} }] },
    ]);
    expect(serialize([rm])).toBe('# HELP a line one\\nC:\\\\path\n# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n');
  });

  it('makes names and label names valid and sorts labels', async () => {
    const rm = await collect([
      {
        name: 'http.server-requests',
        kind: 'counter',
        observations: [{ value: 3, attributes: { 'k8s.pod.name': 'web-0', '1st': 'x', zone: 'a' } }],
      },
    ]);
    expect(serialize([rm], { namespace: 'my-app' })).toBe(
      '# TYPE my_app_http_server_requests_total counter\n' +
        'my_app_http_server_requests_total{_1st="x",k8s_pod_name="web-0",zone="a"} 3\n',
    );
  });

  it('adds _total to monotonic sums once, and serves non-monotonic sums and gauges as gauges', async () => {
    const rm = await collect([
      { name: 'jobs_total', kind: 'counter', observations: [{ value: 5, attributes: {} }] },
      { name: 'queue.depth', kind: 'updowncounter', observations: [{ value: -2, attributes: {} }] },
      { name: 'temperature', kind: 'gauge', observations: [{ value: 21.5, attributes: { room: 'b' } }] },
    ]);
    expect(serialize([rm])).toBe(
      '# TYPE jobs_total counter\njobs_total 5\n' +
        '# TYPE queue_depth gauge\nqueue_depth -2\n' +
        '# TYPE temperature gauge\ntemperature{room="b"} 21.5\n',
    );
  });

  it('adds constant labels, and a data point’s own attribute wins over one', async () => {
    const rm = await collect(dropCounters([['NO_SOCKET', 'ingress', 1, 60]]));
    const text = serialize([rm], { constLabels: { cluster: 'prod', reason: 'constant' } });
    expect(text).toContain('dropreason_drop_count_total{cluster="prod",direction="ingress",reason="NO_SOCKET"} 1\n');
  });

  it('writes one family for a metric that several resources report', async () => {
    const a = await collect(dropCounters([['NO_SOCKET', 'ingress', 1, 10]]));
    const b = await collect(dropCounters([['NO_SOCKET', 'egress', 2, 20]]));
    const text = serialize([a, b]);
    expect(text.match(/^# TYPE dropreason_drop_count_total counter$/gm)).toHaveLength(1);
    expect(text.match(/^# HELP dropreason_drop_count_total /gm)).toHaveLength(1);
    expect(text).toContain(
      'dropreason_drop_count_total{direction="ingress",reason="NO_SOCKET"} 1\n' +
        'dropreason_drop_count_total{direction="egress",reason="NO_SOCKET"} 2\n',
    );
  });

  it('writes a histogram as cumulative buckets up to +Inf, then _sum and _count', async () => {
    // The SDK's default boundaries: 0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500,
    // 5000, 7500, 10000. 3 falls in (0, 5], each 5 in the bucket it bounds, 7 in (5, 10],
    // 20000 above the last.
    const values = [3, 5, 7, 20000];
    const rm = await collect([
      {
        name: 'request.duration',
        description: 'Request time.',
        kind: 'histogram',
        observations: values.map((value) => ({ value, attributes: { route: '/a' } })),
      },
      { name: 'empty.route', kind: 'histogram', observations: [{ value: 0, attributes: {} }] },
    ]);
    const cumulative = [0, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3];
    const bounds = ['0', '5', '10', '25', '50', '75', '100', '250', '500', '750', '1000', '2500', '5000', '7500'];
    expect(serialize([rm])).toBe(
      '# HELP request_duration Request time.\n' +
        '# TYPE request_duration histogram\n' +
        [...bounds, '10000']
          .map((le, i) => `request_duration_bucket{route="/a",le="${le}"} ${cumulative[i]}\n`)
          .join('') +
        'request_duration_bucket{route="/a",le="+Inf"} 4\n' +
        'request_duration_sum{route="/a"} 20015\n' +
        'request_duration_count{route="/a"} 4\n' +
        '# TYPE empty_route histogram\n' +
        [...bounds, '10000', '+Inf'].map((le) => `empty_route_bucket{le="${le}"} 1\n`).join('') +
        'empty_route_sum 0\n' +
        'empty_route_count 1\n',
    );
  });

  it('writes target_info of each resource when asked, its attributes as labels', async () => {
    const rm = await collect(
      [{ name: 'up', kind: 'gauge', observations: [{ value: 1, attributes: {} }] }],
      resourceFromAttributes({ 'service.name': 'agent', 'host.name': 'vm' }),
    );
    expect(serialize([rm], { targetInfo: true })).toBe(
      '# HELP target_info Target metadata\n# TYPE target_info gauge\n' +
        'target_info{host_name="vm",service_name="agent"} 1\n' +
        '# TYPE up gauge\nup 1\n',
    );
  });

  it('writes nothing for nothing', () => {
    expect(serialize([])).toBe('');
    const empty: ResourceMetrics = { resource: { attributes: {} } as ResourceMetrics['resource'], scopeMetrics: [] };
    expect(serialize([empty])).toBe('');
  });

  it('writes special values the way Prometheus reads them', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(1.5)).toBe('1.5');
    expect(Number(formatValue(2 ** 53))).toBe(2 ** 53);
  });
});

describe('serialize: the label cache', () => {
  it('formats the same labels as without it, and follows a changed resource and value', async () => {
    const rm = await collect(dropCounters(DROPS));
    const cache: LabelCache = new WeakMap();
    expect(serialize([rm], { labelCache: cache })).toBe(serialize([rm]));

    // The same data point objects under a pod resource, then with a new value.
    const pod = { ...rm, resource: resourceFromAttributes({ 'k8s.pod.ip': '10.0.0.7' }) };
    const withPod = serialize([pod], { labelCache: cache });
    expect(withPod).toBe(serialize([pod]));
    expect(withPod).toContain(
      'dropreason_drop_count_total{direction="ingress",k8s_pod_ip="10.0.0.7",reason="NO_SOCKET"} 42',
    );
    const point = pod.scopeMetrics[0]!.metrics[0]!.dataPoints[0]!;
    (point as { value: number }).value = 43;
    expect(serialize([pod], { labelCache: cache })).toContain(
      'dropreason_drop_count_total{direction="ingress",k8s_pod_ip="10.0.0.7",reason="NO_SOCKET"} 43',
    );
  });
});
