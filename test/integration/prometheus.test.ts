/**
 * A real Prometheus server (Debian's package) scrapes the agent; what Prometheus stores
 * must equal the kernel's own counters, in both namings. promtool lints what is served.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';

import { Agent, freePort, isRoot } from './harness/agent.js';
import { havePrometheus, PrometheusServer } from './harness/prometheus_server.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const SEND = path.join(path.dirname(new URL(import.meta.url).pathname), 'harness/send.mjs');
const N = 211;

if (!isRoot) console.log('skipping Prometheus tests: they need root to load eBPF and make network namespaces');
else if (!havePrometheus)
  console.log('skipping Prometheus tests: Debian package prometheus is not installed (scripts/setup.sh installs it)');

function promtool(text: string): { code: number; output: string } {
  try {
    const out = execFileSync('promtool', ['check', 'metrics'], {
      input: text,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { code: 0, output: out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, output: `${e.stdout}${e.stderr}` };
  }
}

/** Prometheus scraping the agent's endpoints on these ports every second. */
function scrapeConfig(targets: number[]): string {
  return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: dropreason
    static_configs:
      - targets: [${targets.map((p) => `'127.0.0.1:${p}'`).join(', ')}]
`;
}

describe.skipIf(!isRoot || !havePrometheus)('a real Prometheus scraping the agent', () => {
  it('stores what the kernel counted, in both namings, and promtool accepts the output', async () => {
    const pair = NetnsPair.forTest('prom');
    const [otelPort, retinaPort, selfPort, promPort, omPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    // One receiver shared by two pipelines, each with its own exporter.
    const agent = await Agent.startForTest(
      `receivers:
  dropreason:
    collection_interval: 500ms
    netns: ${pair.netnsPath(pair.a)}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${otelPort}
    const_labels:
      cluster: test
  prometheus/retina:
    endpoint: 127.0.0.1:${retinaPort}
    naming: retina
  prometheus/openmetrics:
    endpoint: 127.0.0.1:${omPort}
    enable_open_metrics: true
    send_timestamps: true
    resource_to_telemetry_conversion:
      enabled: true
processors:
  resource:
    attributes:
      - key: k8s.cluster.name
        value: test-cluster
        action: insert
  batch:
  memory_limiter:
    check_interval: 1s
    limit_mib: 4000
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [prometheus]
    metrics/retina:
      receivers: [dropreason]
      exporters: [prometheus/retina]
    metrics/openmetrics:
      receivers: [dropreason]
      processors: [memory_limiter, resource, batch]
      exporters: [prometheus/openmetrics]
  telemetry:
    metrics:
      level: normal
      address: 127.0.0.1:${selfPort}
`,
      otelPort,
    );
    const prometheus = new PrometheusServer(promPort);
    onTestFinished(() => prometheus.stop());
    await prometheus.start(scrapeConfig([otelPort, retinaPort, selfPort, omPort]));

    dropUdpRule(pair, 'OUTPUT', 9);
    pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(N), '64']);
    const rule = ruleCounters(pair, pair.a, 'OUTPUT');
    expect(rule.packets).toBe(N);

    const sel = '{reason="IPTABLE_RULE_DROP",direction="egress"}';
    expect(
      await prometheus.waitFor(`dropreason_drop_count_total${sel.replace('}', ',cluster="test"}')}`, rule.packets),
    ).toBe(rule.packets);
    expect(
      await prometheus.waitFor(`dropreason_drop_bytes_total${sel.replace('}', ',cluster="test"}')}`, rule.bytes),
    ).toBe(rule.bytes);
    expect(await prometheus.waitFor(`networkobservability_drop_count${sel}`, rule.packets)).toBe(rule.packets);
    expect(await prometheus.waitFor(`networkobservability_drop_bytes${sel}`, rule.bytes)).toBe(rule.bytes);
    // Scraped as OpenMetrics (Prometheus asks for it first), gzipped, with the resource
    // processor's attribute as a label by resource_to_telemetry_conversion.
    const om = `dropreason_drop_count_total{reason="IPTABLE_RULE_DROP",direction="egress",k8s_cluster_name="test-cluster",host_name="${os.hostname()}"}`;
    expect(await prometheus.waitFor(om, rule.packets)).toBe(rule.packets);
    // The agent's own metrics, scraped from service.telemetry.metrics.
    expect(await prometheus.waitFor('dropreason_agent_program_attached{program="dr_kfree_skb_btf"}', 1)).toBe(1);

    const otel = promtool(await agent.scrapeText(otelPort));
    expect(otel).toEqual({ code: 0, output: '' });
    expect(promtool(await agent.scrapeText(selfPort))).toEqual({ code: 0, output: '' });
    // Retina's own names end in _count, which promtool's style lint flags; that is the only finding.
    const retina = promtool(await agent.scrapeText(retinaPort));
    const findings = retina.output.trim().split('\n');
    expect(findings).toEqual([
      'networkobservability_drop_count non-histogram and non-summary metrics should not have "_count" suffix',
    ]);
  });
});
