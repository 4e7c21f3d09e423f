/**
 * The Grafana dashboard: every PromQL expression may name only metrics our prometheus
 * exporter serves and labels those series carry, as the exporter's own serializer writes
 * them for the pipeline the Kubernetes manifests deploy (plus the job and instance labels
 * a Prometheus scrape adds).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import { registry } from '../../src/components.js';
import type { PrometheusConfig } from '../../src/exporters/prometheus/config.js';
import { serialize } from '../../src/translator/prometheus/serializer.js';
import type { K8sAttributesConfig } from '../../src/processors/k8sattributes/config.js';
import { metadata, POD_DROP_BYTES, POD_DROP_COUNT } from '../../src/receiver/dropreason/metadata.generated.js';
import { parseConfig } from '../../src/service/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/dropreason.json'), 'utf8')) as Json;

/** Labels a Prometheus scrape adds to every series. */
const TARGET_LABELS = ['job', 'instance'];
const FUNCTIONS = ['sum', 'rate', 'increase', 'topk', 'label_values'];
const KEYWORDS = ['by', 'without'];
const BUILTIN_VARIABLES = ['__rate_interval', '__range', '__interval'];

/** The pipeline the manifests deploy, both variants serving Prometheus alike. */
function deployedConfig() {
  const configs = ['gateway', 'sidecar'].map((v) =>
    parseConfig(fs.readFileSync(path.join(ROOT, 'deploy/kubernetes', v, 'otel-config.yaml'), 'utf8'), registry, {
      K8S_NODE_NAME: 'node-a',
    }),
  );
  const settings = configs.map((c) => ({
    prometheus: c.exporters.get('prometheus')!.config as PrometheusConfig,
    k8s: c.processors.get('k8sattributes')!.config as K8sAttributesConfig,
  }));
  expect(settings[1]).toEqual(settings[0]);
  return settings[0]!;
}

/** Metric name → label names, from the exporter's serializer given one data point of each metric. */
function servedLabels(): Map<string, Set<string>> {
  const { prometheus, k8s } = deployedConfig();
  expect(prometheus.naming).toBe('otel');
  const podResource: Record<string, string> = { 'k8s.pod.ip': '10.0.0.1' };
  for (const name of k8s.extract.metadata) podResource[name] = 'x';
  const resourceMetrics = Object.entries(metadata.metrics).map(([name, m]) => {
    const onPod = name === POD_DROP_COUNT || name === POD_DROP_BYTES;
    return {
      resource: { attributes: onPod ? podResource : {} },
      scopeMetrics: [
        {
          scope: { name: 'dropreason' },
          metrics: [
            {
              descriptor: { name, description: m.description, unit: m.unit, valueType: 1 },
              dataPointType: DataPointType.SUM,
              isMonotonic: true,
              aggregationTemporality: 1,
              dataPoints: [{ attributes: Object.fromEntries(m.attributes.map((a) => [a, 'x'])), value: 1 }],
            },
          ],
        },
      ],
    };
  }) as unknown as ResourceMetrics[];
  const text = serialize(resourceMetrics, { namespace: prometheus.namespace, constLabels: prometheus.const_labels });
  const out = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} \S+$/gm)) {
    const labels = [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((l) => l[1]!);
    out.set(m[1]!, new Set([...labels, ...TARGET_LABELS]));
  }
  return out;
}

interface Query {
  where: string;
  expr: string;
  legendFormat?: string;
}

function queries(): Query[] {
  const out: Query[] = [];
  for (const panel of dashboard['panels'] as Json[]) {
    for (const t of panel['targets'] ?? []) {
      out.push({ where: `panel "${panel['title']}" ${t.refId}`, expr: t.expr, legendFormat: t.legendFormat });
    }
  }
  for (const v of dashboard['templating'].list as Json[]) {
    if (v['type'] === 'query') out.push({ where: `variable ${v['name']}`, expr: v['query'] });
  }
  return out;
}

/** The metrics, matcher labels and grouping labels of a PromQL expression. */
function analyse(expr: string) {
  const selectors = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^}]*)\}/g)].map((m) => ({
    metric: m[1],
    labels: [...m[2]!.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
      (l) => l[1]!,
    ),
  }));
  const groupings = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].map((m) =>
    m[1]!.split(',').map((s) => s.trim()),
  );
  const rest = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\w+/g, ' ');
  const functions = [...rest.matchAll(/([a-zA-Z_]\w*)\s*\(/g)].map((m) => m[1]!);
  const names = [...rest.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!);
  const variables = [...expr.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]!);
  return { selectors, groupings, functions, names: names.filter((n) => !KEYWORDS.includes(n)), variables };
}

describe('Grafana dashboard', () => {
  const served = servedLabels();

  it('serves, for the test to compare against, the metrics docs/metrics.md names', () => {
    expect([...served.keys()].sort()).toEqual([
      'dropreason_drop_bytes_total',
      'dropreason_drop_count_total',
      'dropreason_pod_drop_bytes_total',
      'dropreason_pod_drop_count_total',
      'system_network_packet_dropped_total',
    ]);
    expect(served.get('dropreason_pod_drop_count_total')).toContain('k8s_pod_name');
    expect(served.get('dropreason_drop_count_total')).toContain('k8s_node_name');
  });

  it('reads a Prometheus data source chosen by a template variable', () => {
    expect(dashboard['schemaVersion']).toBeGreaterThanOrEqual(36);
    const vars = dashboard['templating'].list as Json[];
    expect(vars.find((v) => v['name'] === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of dashboard['panels'] as Json[]) {
      if (panel['type'] === 'row') continue;
      expect(panel['datasource'], panel['title']).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of panel['targets']) expect(t.datasource, panel['title']).toEqual(panel['datasource']);
    }
  });

  it('has node, namespace and pod variables', () => {
    const names = (dashboard['templating'].list as Json[]).map((v) => v['name']);
    expect(names).toEqual(expect.arrayContaining(['node', 'namespace', 'pod']));
  });

  it('lays out panels without overlap, each with a unique id', () => {
    const panels = dashboard['panels'] as Json[];
    expect(new Set(panels.map((p) => p['id'])).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const { x, y, w, h } = p['gridPos'];
      expect(x + w, p['title']).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p['title']} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
      }
    }
  });

  it.each(queries())('$where: names served metrics and their labels only', ({ expr, legendFormat }) => {
    const { selectors, groupings, functions, names, variables } = analyse(expr);
    expect(functions.filter((f) => !FUNCTIONS.includes(f))).toEqual([]);
    // Every name left is a metric (label_values' second argument is a label).
    const labelValuesLabel = /^label_values\(.*,\s*(\w+)\)$/.exec(expr)?.[1];
    const metrics = names.filter((n) => n !== labelValuesLabel && !/^\d/.test(n));
    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics.filter((m) => !served.has(m))).toEqual([]);
    const labels = (m: string) => served.get(m)!;
    const common = metrics.map(labels).reduce((a, b) => new Set([...a].filter((l) => b.has(l))));

    for (const s of selectors) {
      expect(s.metric, `a selector without a metric in ${expr}`).toBeDefined();
      expect(s.labels.filter((l) => !labels(s.metric!).has(l))).toEqual([]);
    }
    for (const g of groupings) expect(g.filter((l) => !common.has(l))).toEqual([]);
    if (labelValuesLabel) expect(common).toContain(labelValuesLabel);

    // A legend can only use the labels the outermost aggregation keeps.
    const kept = groupings.length ? new Set(groupings.at(-1)) : common;
    const legendLabels = [...(legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
    expect(legendLabels.filter((l) => !kept.has(l))).toEqual([]);

    const defined = (dashboard['templating'].list as Json[]).map((v) => v['name'] as string);
    expect(variables.filter((v) => !defined.includes(v) && !BUILTIN_VARIABLES.includes(v))).toEqual([]);
  });

  it('shows drops by reason, direction, node and pod, top pods, and bytes against packets', () => {
    const exprs = queries().map((q) => q.expr);
    const has = (re: RegExp) => exprs.some((e) => re.test(e));
    expect(has(/sum by \(reason\) \(rate\(dropreason_drop_count_total/)).toBe(true);
    expect(has(/sum by \(direction\) \(rate\(dropreason_drop_count_total/)).toBe(true);
    expect(has(/sum by \(k8s_node_name\) \(rate\(dropreason_drop_count_total/)).toBe(true);
    expect(has(/sum by \(k8s_namespace_name, k8s_pod_name\) \(rate\(dropreason_pod_drop_count_total/)).toBe(true);
    expect(
      has(/^topk\(\d+, sum by \(k8s_namespace_name, k8s_pod_name\) \(increase\(dropreason_pod_drop_count_total/),
    ).toBe(true);
    const bytesVsPackets = (dashboard['panels'] as Json[]).find((p) => p['title'] === 'Bytes vs packets')!;
    expect(bytesVsPackets['targets'].map((t: Json) => analyse(t['expr']).names)).toEqual([
      ['dropreason_drop_count_total'],
      ['dropreason_drop_bytes_total'],
    ]);
  });
});
