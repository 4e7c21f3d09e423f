/**
 * A real Prometheus server (Debian's package) scrapes the agent; what Prometheus stores
 * must equal the kernel's own counters, in both namings. promtool lints what is served.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { Agent, freePort, isRoot, sleep } from './harness/agent.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const SEND = path.join(path.dirname(new URL(import.meta.url).pathname), 'harness/send.mjs');
const havePrometheus = fs.existsSync('/usr/bin/prometheus') && fs.existsSync('/usr/bin/promtool');
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

class PrometheusServer {
  private child: ChildProcess | undefined;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-prom-'));
  log = '';

  constructor(readonly port: number) {}

  async start(targets: number[]): Promise<void> {
    const config = `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: dropreason
    static_configs:
      - targets: [${targets.map((p) => `'127.0.0.1:${p}'`).join(', ')}]
`;
    fs.writeFileSync(path.join(this.dir, 'prometheus.yml'), config);
    this.child = spawn(
      'prometheus',
      [
        `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d) => (this.log += d));
    this.child.stderr!.on('data', (d) => (this.log += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`prometheus did not start:\n${this.log}`);
      await sleep(200);
    }
  }

  /** The value of an instant query with exactly one result, or undefined. */
  async query(expr: string): Promise<number | undefined> {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
    const result = body.data.result;
    if (result.length > 1) throw new Error(`${expr} matched ${result.length} series`);
    return result[0] ? Number(result[0].value[1]) : undefined;
  }

  /** Polls until the query returns `expected` (or times out) and returns the last value. */
  async waitFor(expr: string, expected: number): Promise<number | undefined> {
    const deadline = Date.now() + 30_000;
    let value: number | undefined;
    while (Date.now() < deadline) {
      value = await this.query(expr);
      if (value === expected) return value;
      await sleep(500);
    }
    return value;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child!.on('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.skipIf(!isRoot || !havePrometheus)('a real Prometheus scraping the agent', () => {
  let pair: NetnsPair | undefined;
  let agent: Agent | undefined;
  let prometheus: PrometheusServer | undefined;

  afterEach(async () => {
    await prometheus?.stop();
    await agent?.stop();
    pair?.destroy();
  });

  it('stores what the kernel counted, in both namings, and promtool accepts the output', async () => {
    pair = new NetnsPair('prom');
    pair.create();
    const [otelPort, retinaPort, selfPort, promPort, omPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    // One receiver shared by two pipelines, each with its own exporter.
    agent = await Agent.start(
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
    prometheus = new PrometheusServer(promPort);
    await prometheus.start([otelPort, retinaPort, selfPort, omPort]);

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
