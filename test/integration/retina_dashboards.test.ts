/**
 * Retina's own Grafana dashboards, answered by dropreason: the PromQL of every drop panel
 * and variable of Retina's cluster dashboard ("Kubernetes / Networking / Retina /
 * Clusters") and its pod-level one ("... / Pod Traffic"), held below as facts (title,
 * expression, variables; read from microsoft/retina deploy/grafana-dashboards/clusters.json
 * and standard-pod-level.json, 2026-08), is run against a real Prometheus scraping two
 * agents, one per node, during known drops. Each panel's answer must equal what the
 * kernel counted for the pods and nodes it asks about: iptables rule counters in each
 * pod's network namespace, and /sys/class/net statistics for the interface panels.
 *
 * Two nodes on one machine: each agent counts the drops of one network namespace (the
 * receiver's `netns`), which stands for one node with one pod on it. Prometheus labels
 * their targets as Retina's chart does: `instance` from the node name
 * (`__meta_kubernetes_pod_node_name`, given here on the static targets) and `cluster`
 * from a target label.
 *
 * The variables are substituted as Grafana does: `$Nodes` (multi-value, with All) as a
 * regex `(node-a|node-b)` or the All value `(.*)`, `$__interval` as the query step and
 * `$__rate_interval` as max($__interval + scrape interval, 4 × scrape interval). A time
 * series panel is a range query; its answer over the scenario is the area under each of
 * its series (the sum of value × step), which for a rate of a counter is the counter's
 * increase. The targets' samples are put on one time grid (harness/grid_relay.ts) so that
 * Prometheus' rate extrapolation plays no part and that area is exact.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FakeApiServer } from '../k8s/fake_api_server.js';
import { Agent, freePort, isRoot, parseMetrics, sleep } from './harness/agent.js';
import { Grid, GridRelay } from './harness/grid_relay.js';
import { havePrometheus, PrometheusServer } from './harness/prometheus_server.js';
import { NetnsPair } from './harness/topology.js';

const execFileAsync = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SEND = path.join(HERE, 'harness/send.mjs');

const CLUSTER = 'test-cluster';
const NODES = ['node-a', 'node-b'] as const;
type Node = (typeof NODES)[number];
const WEB = 'web-7d9f8-x2k4p';
const DB = 'db-0';
/** A destination with no pod, routed out of web's namespace. */
const NOWHERE = '203.0.113.7';
/** Scrape interval (Prometheus) = Grafana's data source scrape interval = $__interval (the step). */
const SCRAPE_S = 1;
const RATE_INTERVAL_S = Math.max(SCRAPE_S + SCRAPE_S, 4 * SCRAPE_S);

if (!isRoot) console.log("skipping Retina's dashboards: they need root to load eBPF and make network namespaces");
else if (!havePrometheus)
  console.log(
    "skipping Retina's dashboards: Debian package prometheus is not installed (scripts/setup.sh installs it)",
  );

// ---------------------------------------------------------------------------------------
// Ground truth: what the kernel counted in the scenario, per node.

/** Drops the kernel counted, with the pods at each end (or 'unknown'). */
interface Drop {
  node: Node;
  reason: string;
  direction: 'ingress' | 'egress';
  source: string;
  destination: string;
  packets: number;
  bytes: number;
}

/** One interface's drop counters over the scenario. */
interface InterfaceDrops {
  node: Node;
  name: string;
  rx_dropped: number;
  tx_dropped: number;
}

interface Truth {
  drops: Drop[];
  interfaces: InterfaceDrops[];
}

/** A panel's answer: each series' labels (as `{k="v",...}`, sorted) → its count over the scenario; zeros left out. */
type Answer = Record<string, number>;

function labelKey(labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .filter(([k]) => k !== '__name__')
    .sort(([a], [b]) => a.localeCompare(b));
  return `{${pairs.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** Sums `value` of the items `group` names (undefined: not in the panel), leaving out zeros. */
function tally<T>(items: T[], group: (x: T) => Record<string, string> | undefined, value: (x: T) => number): Answer {
  const out: Answer = {};
  for (const x of items) {
    const labels = group(x);
    if (labels === undefined) continue;
    const key = labelKey(labels);
    out[key] = (out[key] ?? 0) + value(x);
  }
  for (const [k, v] of Object.entries(out)) if (v === 0) delete out[k];
  return out;
}

// ---------------------------------------------------------------------------------------
// The dashboards' queries, as facts.

interface Panel {
  dashboard: 'clusters' | 'pod-level';
  title: string;
  expr: string;
  /** The dashboard variables the expression uses. */
  variables: string[];
  /** The answer the kernel's counters give, for the nodes selected in $Nodes. */
  truth: (t: Truth, nodes: readonly Node[]) => Answer;
}

const inNodes = (nodes: readonly Node[]) => (d: { node: Node }) => nodes.includes(d.node);
const packets = (d: Drop) => d.packets;
const bytes = (d: Drop) => d.bytes;

/** A panel that sums drops of the selected nodes matching `where`, grouped by `by`. */
function drops(
  by: (d: Drop) => Record<string, string>,
  value: (d: Drop) => number,
  where: (d: Drop) => boolean = () => true,
  nodeFilter = true,
): Panel['truth'] {
  return (t, nodes) =>
    tally(t.drops, (d) => (where(d) && (!nodeFilter || inNodes(nodes)(d)) ? by(d) : undefined), value);
}

const PANELS: Panel[] = [
  {
    dashboard: 'clusters',
    title: 'Current Dropped Traffic by Cluster',
    expr: 'sum by (cluster) (rate(networkobservability_drop_bytes{instance=~"$Nodes"}[$__rate_interval]))',
    variables: ['Nodes', '__rate_interval'],
    truth: drops(() => ({ cluster: CLUSTER }), bytes),
  },
  {
    dashboard: 'clusters',
    title: 'Bytes Dropped by Cluster',
    expr: 'sum by (cluster) (rate(networkobservability_drop_bytes{instance=~"$Nodes"}[$__rate_interval]))',
    variables: ['Nodes', '__rate_interval'],
    truth: drops(() => ({ cluster: CLUSTER }), bytes),
  },
  {
    dashboard: 'clusters',
    title: 'Packets Dropped By Cluster',
    expr: 'sum by (cluster) (rate(networkobservability_drop_count[$__rate_interval]))',
    variables: ['__rate_interval'],
    // No node filter in Retina's expression: every node, whatever $Nodes selects.
    truth: drops(() => ({ cluster: CLUSTER }), packets, undefined, false),
  },
  {
    dashboard: 'clusters',
    title: 'Packets Dropped - Egress',
    expr: 'sum(rate(networkobservability_drop_count{direction="egress", cluster="$cluster", instance=~"$Nodes"}[$__rate_interval]))',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    truth: drops(
      () => ({}),
      packets,
      (d) => d.direction === 'egress',
    ),
  },
  {
    dashboard: 'clusters',
    title: 'Packets Dropped - Ingress',
    expr: 'sum(rate(networkobservability_drop_count{direction="ingress", cluster="$cluster", instance=~"$Nodes"}[$__rate_interval]))',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    truth: drops(
      () => ({}),
      packets,
      (d) => d.direction === 'ingress',
    ),
  },
  {
    dashboard: 'clusters',
    title: 'Packets Dropped - Unknown',
    expr: 'sum(rate(networkobservability_drop_count{direction="unknown", instance=~"$Nodes", cluster="$cluster"}[$__rate_interval]))',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    // Every drop of the scenario has a known direction.
    truth: drops(
      () => ({}),
      packets,
      (d) => (d.direction as string) === 'unknown',
    ),
  },
  {
    dashboard: 'clusters',
    title: 'Bytes Dropped by Reason',
    expr: 'sum by (reason) (rate(networkobservability_drop_bytes{cluster="$cluster", instance=~"$Nodes"}[$__rate_interval])) > 0',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    truth: drops((d) => ({ reason: d.reason }), bytes),
  },
  {
    dashboard: 'clusters',
    title: 'Packets Dropped by Reason',
    expr: `sum by (reason) (rate(networkobservability_drop_count{cluster="$cluster", instance=~"$Nodes"}[$__rate_interval])) > 0
or
sum by (reason) (
  label_replace(
    rate(networkobservability_interface_stats{statistic_name="rx_dropped", cluster="$cluster", instance=~"$Nodes"}[$__rate_interval]),
    "reason",
    "$1",
    "statistic_name",
    "(.*)"
  )
)
or # cannot combine these interface_stats expressions into one using regex, since regex would capture anything with rx_dropped or tx_dropped in it
sum by (reason) (
  label_replace(
    rate(networkobservability_interface_stats{statistic_name="tx_dropped", cluster="$cluster", instance=~"$Nodes"}[$__rate_interval]),
    "reason",
    "$1",
    "statistic_name",
    "(.*)"
  )
)`,
    variables: ['cluster', 'Nodes', '__rate_interval'],
    // The kernel's drops by reason, and beside them each interface counter as a "reason".
    truth: (t, nodes) => ({
      ...drops((d) => ({ reason: d.reason }), packets)(t, nodes),
      ...tally(
        t.interfaces.filter(inNodes(nodes)),
        () => ({ reason: 'rx_dropped' }),
        (i) => i.rx_dropped,
      ),
      ...tally(
        t.interfaces.filter(inNodes(nodes)),
        () => ({ reason: 'tx_dropped' }),
        (i) => i.tx_dropped,
      ),
    }),
  },
  {
    dashboard: 'clusters',
    title: 'Bytes Dropped by Node',
    expr: 'sum by(instance) (rate(networkobservability_drop_bytes{cluster="$cluster", instance=~"$Nodes"}[$__rate_interval])) > 0',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    truth: drops((d) => ({ instance: d.node }), bytes),
  },
  {
    dashboard: 'clusters',
    title: 'Packets Dropped by Node',
    expr: 'sum by(instance) (rate(networkobservability_drop_count{cluster="$cluster", instance=~"$Nodes"}[$__rate_interval])) > 0',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    truth: drops((d) => ({ instance: d.node }), packets),
  },
  {
    dashboard: 'clusters',
    title: 'Dropped Rx Packets',
    expr: 'sum by (instance) (rate(networkobservability_interface_stats{statistic_name="rx_dropped", cluster="$cluster", instance=~"$Nodes"}[$__rate_interval])) > 0',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    truth: (t, nodes) =>
      tally(
        t.interfaces.filter(inNodes(nodes)),
        (i) => ({ instance: i.node }),
        (i) => i.rx_dropped,
      ),
  },
  {
    dashboard: 'clusters',
    title: 'Dropped Tx Packets',
    expr: 'sum by (instance) (rate(networkobservability_interface_stats{statistic_name="tx_dropped", cluster="$cluster", instance=~"$Nodes"}[$__rate_interval])) > 0',
    variables: ['cluster', 'Nodes', '__rate_interval'],
    truth: (t, nodes) =>
      tally(
        t.interfaces.filter(inNodes(nodes)),
        (i) => ({ instance: i.node }),
        (i) => i.tx_dropped,
      ),
  },
  {
    dashboard: 'pod-level',
    title: 'Dropped pps per source pod',
    expr: 'sum by(source_podname) (irate(networkobservability_adv_drop_count{destination_podname!="unknown", source_podname!="unknown"}[1m]))',
    variables: [],
    // Pod-to-pod drops only: an end without a pod is "unknown" and filtered out.
    truth: drops(
      (d) => ({ source_podname: d.source }),
      packets,
      (d) => d.source !== 'unknown' && d.destination !== 'unknown',
      false,
    ),
  },
];

/** The dashboards' variables, and the values they must offer. */
const VARIABLES = {
  cluster: { dashboard: 'clusters', query: 'label_values(up, cluster)', match: 'up', label: 'cluster' },
  Nodes: {
    dashboard: 'clusters',
    query: 'label_values(up{cluster="$cluster"},instance)',
    match: 'up{cluster="$cluster"}',
    label: 'instance',
  },
} as const;

/**
 * What these dashboards query that dropreason does not make, held here so that the docs'
 * list is measured: each returns no data.
 */
const NOT_MADE = [
  {
    dashboard: 'pod-level',
    title: 'variable pod',
    expr: 'query_result(networkobservability_adv_forward_count)',
    query: 'networkobservability_adv_forward_count',
    why: 'reads forwarded (not dropped) packets, which Retina counts in its packetforward plugin',
  },
  {
    dashboard: 'pod-level',
    title: 'Dropped pps per Destination pod',
    expr: 'sum by(destination_podname) (irate(networkobservability_adv_forward_count{destination_podname!="unknown", source_podname!="unknown"}[1m]))',
    query:
      'sum by(destination_podname) (irate(networkobservability_adv_forward_count{destination_podname!="unknown", source_podname!="unknown"}[1m]))',
    why: 'despite its title it reads networkobservability_adv_forward_count, forwarded packets',
  },
];

/** $Nodes selections: All, every node picked (multi-value), one node. */
const SELECTIONS: Array<{ name: string; nodes: readonly Node[]; value: string }> = [
  { name: 'All', nodes: NODES, value: '(.*)' },
  { name: 'node-a + node-b', nodes: NODES, value: grafanaMulti(['node-a', 'node-b']) },
  { name: 'node-b', nodes: ['node-b'], value: grafanaMulti(['node-b']) },
];

/** Grafana's Prometheus formatting of a multi-value variable: each value regex-escaped, joined as an alternation. */
function grafanaMulti(values: string[]): string {
  const escaped = values.map((v) => v.replace(/[$^*{}[\]'+?.()|\\]/g, '\\\\$&'));
  return `(${escaped.join('|')})`;
}

/** Substitutes $name and ${name} as Grafana does; a variable it does not know is an error (PromQL's "$1" is not one). */
function interpolate(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$(?:\{(\w+)\}|([A-Za-z_]\w*))/g, (whole, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    if (!(name in values)) throw new Error(`no value for variable $${name} in ${expr}`);
    return values[name]!;
  });
}

// ---------------------------------------------------------------------------------------
// The scenario.

/** Two nodes, one pod each, and the nodes' agents. */
function registerPods(api: FakeApiServer, pair: NetnsPair): void {
  api.addReplicaSet('shop', 'web-7d9f8', 'web');
  api.addPod({
    name: WEB,
    namespace: 'shop',
    node: 'node-a',
    ips: [pair.addrA],
    owner: { kind: 'ReplicaSet', name: 'web-7d9f8' },
    labels: { 'pod-template-hash': '7d9f8' },
  });
  api.addPod({
    name: DB,
    namespace: 'data',
    node: 'node-b',
    ips: [pair.addrB],
    owner: { kind: 'StatefulSet', name: 'db' },
  });
}

/** One node's agent: its namespace's drops, its pods (and their peers), Retina's names and remote context. */
function agentConfig(node: Node, netns: string, root: string, kubeconfig: string, port: number): string {
  return `receivers:
  dropreason:
    mode: advanced
    collection_interval: 500ms
    netns: ${netns}
    interfaces:
      root_path: ${root}
processors:
  k8sattributes:
    auth_type: kubeConfig
    kube_config_path: ${kubeconfig}
    filter:
      node: ${node}
    wait_for_metadata: true
    peer_enrichment: true
exporters:
  prometheus/retina:
    endpoint: 127.0.0.1:${port}
    naming: retina
    retina_context: remote
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      processors: [k8sattributes]
      exporters: [prometheus/retina]
`;
}

/**
 * Prometheus as Retina's chart scrapes: `instance` from the pod's node name, and a
 * `cluster` target label (so that `up` carries it, as the $cluster variable needs).
 */
function prometheusConfig(targets: Array<{ node: Node; port: number }>): string {
  return `global:
  scrape_interval: ${SCRAPE_S}s
  scrape_timeout: ${SCRAPE_S}s
scrape_configs:
  - job_name: dropreason
    honor_timestamps: true
    static_configs:
${targets
  .map(
    (t) => `      - targets: ['127.0.0.1:${t.port}']
        labels:
          __meta_kubernetes_pod_node_name: ${t.node}`,
  )
  .join('\n')}
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_node_name]
        action: replace
        target_label: instance
      - target_label: cluster
        replacement: ${CLUSTER}
`;
}

/**
 * Runs a command in a namespace without blocking: the relays in this process must answer
 * Prometheus meanwhile.
 */
async function inNetns(ns: string, cmd: string, args: string[]): Promise<string> {
  return (await execFileAsync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' })).stdout;
}

/** The counters of the DROP rules of a chain, in rule order. */
async function chainCounters(ns: string, chain: string): Promise<Array<{ packets: number; bytes: number }>> {
  const out = await inNetns(ns, 'iptables', ['-w', '-L', chain, '-v', '-x', '-n']);
  return [...out.matchAll(/^\s*(\d+)\s+(\d+)\s+DROP/gm)].map((m) => ({ packets: Number(m[1]), bytes: Number(m[2]) }));
}

/** Every interface of a namespace with the counters of /sys/class/net/DEV/statistics the test reads. */
async function interfaceCounters(ns: string): Promise<Record<string, Record<string, number>>> {
  const names = ['rx_dropped', 'tx_dropped', 'rx_packets', 'rx_bytes'];
  const script = `for d in /sys/class/net/*; do echo "\${d##*/} ${names.map((n) => `$(cat $d/statistics/${n})`).join(' ')}"; done`;
  const out: Record<string, Record<string, number>> = {};
  for (const line of (await inNetns(ns, 'sh', ['-c', script])).trim().split('\n')) {
    const [dev, ...values] = line.split(' ');
    out[dev!] = Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
  }
  return out;
}

/** The tap device standing for each node's NIC. */
const TAPS: Record<Node, string> = {
  'node-a': `drtapa${process.pid % 100000}`,
  'node-b': `drtapb${process.pid % 100000}`,
};

/**
 * The kernel's counters for the scenario. Reading iptables' counters (netlink) makes drops
 * of its own in the namespace (QUEUE_PURGE, a netlink reply left unread), so the test
 * reads them only outside the span it asks the panels about.
 */
interface Counters {
  /** OUTPUT in web's namespace: to db (port 9), to no pod. */
  toDb: { packets: number; bytes: number };
  toNowhere: { packets: number; bytes: number };
  /** INPUT in db's namespace: from web (port 10). */
  intoDb: { packets: number; bytes: number };
  interfaces: Record<Node, Record<string, Record<string, number>>>;
}

async function counters(pair: NetnsPair): Promise<Counters> {
  const [toDb, toNowhere] = await chainCounters(pair.a, 'OUTPUT');
  const [intoDb] = await chainCounters(pair.b, 'INPUT');
  return {
    toDb: toDb!,
    toNowhere: toNowhere!,
    intoDb: intoDb!,
    interfaces: { 'node-a': await interfaceCounters(pair.a), 'node-b': await interfaceCounters(pair.b) },
  };
}

/** What the kernel counted between two readings, as the drops and interface counters of each node. */
function truthBetween(before: Counters, after: Counters): Truth {
  const delta = (k: 'toDb' | 'toNowhere' | 'intoDb') => ({
    packets: after[k].packets - before[k].packets,
    bytes: after[k].bytes - before[k].bytes,
  });
  const ifDelta = (node: Node, dev: string, stat: string) =>
    after.interfaces[node][dev]![stat]! - before.interfaces[node][dev]![stat]!;
  const interfaces: InterfaceDrops[] = [];
  for (const node of NODES)
    for (const name of Object.keys(after.interfaces[node]))
      interfaces.push({
        node,
        name,
        rx_dropped: ifDelta(node, name, 'rx_dropped'),
        tx_dropped: ifDelta(node, name, 'tx_dropped'),
      });
  // The frames no protocol takes: counted by the node's tap device as rx_dropped, and freed
  // by the stack with reason UNHANDLED_PROTO once their 14-byte Ethernet header is pulled.
  const frames = (node: Node): Drop => ({
    node,
    reason: 'UNHANDLED_PROTO',
    direction: 'ingress',
    source: 'unknown',
    destination: 'unknown',
    packets: ifDelta(node, TAPS[node], 'rx_dropped'),
    bytes: ifDelta(node, TAPS[node], 'rx_bytes') - 14 * ifDelta(node, TAPS[node], 'rx_packets'),
  });
  const web = { source: WEB, reason: 'IPTABLE_RULE_DROP' };
  return {
    drops: [
      { node: 'node-a', ...web, direction: 'egress', destination: DB, ...delta('toDb') },
      { node: 'node-a', ...web, direction: 'egress', destination: 'unknown', ...delta('toNowhere') },
      { node: 'node-b', ...web, direction: 'ingress', destination: DB, ...delta('intoDb') },
      frames('node-a'),
      frames('node-b'),
    ],
    interfaces,
  };
}

/** Polls `check` until it returns true or `timeoutMs` is up. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await sleep(250);
}

/** The sum of the served series of `name` whose labels include `labels`. */
async function served(agent: Agent, name: string, labels: Record<string, string>): Promise<number> {
  const samples = parseMetrics(await agent.scrapeText());
  let sum = 0;
  for (const [k, v] of samples)
    if (k.startsWith(`${name}{`) && Object.entries(labels).every(([l, val]) => k.includes(`${l}="${val}"`))) sum += v;
  return sum;
}

describe.skipIf(!isRoot || !havePrometheus)("Retina's dashboards on dropreason's metrics", () => {
  let pair: NetnsPair | undefined;
  let api: FakeApiServer | undefined;
  const agents: Partial<Record<Node, Agent>> = {};
  const relays: GridRelay[] = [];
  let prometheus: PrometheusServer | undefined;
  let tapFrames = '';
  /** Each node's sysfs, mounted from its network namespace: what a DaemonSet reads at root_path. */
  const sysfs: string[] = [];
  let truth: Truth;
  /** The scenario's span on the grid, in unix seconds. */
  let start = 0;
  let end = 0;

  interface Traffic {
    toDb: number;
    toNowhere: number;
    intoDb: number;
    frames: Record<Node, number>;
  }

  /** Sends `n` of each kind of drop. */
  async function traffic(p: NetnsPair, n: Traffic): Promise<void> {
    await inNetns(p.a, process.execPath, [SEND, 'udp', p.addrB, '9', String(n.toDb), '40']);
    await inNetns(p.a, process.execPath, [SEND, 'udp', NOWHERE, '9', String(n.toNowhere), '24']);
    await inNetns(p.a, process.execPath, [SEND, 'udp', p.addrB, '10', String(n.intoDb), '56']);
    await inNetns(p.a, tapFrames, [TAPS['node-a'], String(n.frames['node-a'])]);
    await inNetns(p.b, tapFrames, [TAPS['node-b'], String(n.frames['node-b'])]);
  }

  /**
   * Waits until each agent serves the totals sent so far (node-level series), then until
   * a grid instant whose scrapes all came after that and four more with the counters
   * still (a rate window), and returns the last of them. The totals are what the test
   * sent: reading the kernel's counters here would make drops of its own (see Counters).
   */
  async function settle(sent: Traffic): Promise<number> {
    const a = agents['node-a']!;
    const b = agents['node-b']!;
    const checks: Array<[Agent, Record<string, string>, number]> = [
      [a, { reason: 'IPTABLE_RULE_DROP', direction: 'egress' }, sent.toDb + sent.toNowhere],
      [a, { reason: 'UNHANDLED_PROTO', direction: 'ingress' }, sent.frames['node-a']],
      [b, { reason: 'IPTABLE_RULE_DROP', direction: 'ingress' }, sent.intoDb],
      [b, { reason: 'UNHANDLED_PROTO', direction: 'ingress' }, sent.frames['node-b']],
    ];
    for (const [agent, labels, total] of checks)
      await until(async () => (await served(agent, 'networkobservability_drop_count', labels)) === total);
    await sleep(1_200); // two more collections, so that a late or double count is seen, not hidden
    const settled = Date.now();
    await until(() => relays.every((r) => r.firstAfter(settled) !== undefined));
    const first = Math.max(...relays.map((r) => r.firstAfter(settled)!));
    const last = first + RATE_INTERVAL_S / SCRAPE_S;
    await until(() => relays.every((r) => r.last > last));
    return last;
  }

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-frames-'));
    tapFrames = path.join(dir, 'tap_frames');
    execFileSync('cc', ['-O2', '-o', tapFrames, path.join(HERE, 'harness/tap_frames.c')]);

    pair = new NetnsPair('rdash');
    pair.create();
    const p = pair;
    p.exec(p.a, 'ip', ['route', 'add', `${NOWHERE}/32`, 'via', p.addrB]);
    const drop = (ns: string, args: string[]) => p.exec(ns, 'iptables', ['-w', '-A', ...args, '-j', 'DROP']);
    drop(p.a, ['OUTPUT', '-d', p.addrB, '-p', 'udp', '--dport', '9']);
    drop(p.a, ['OUTPUT', '-d', NOWHERE, '-p', 'udp', '--dport', '9']);
    drop(p.b, ['INPUT', '-s', p.addrA, '-p', 'udp', '--dport', '10']);
    // A device per node that receives what the test writes to it, as a NIC from the wire.
    for (const [node, ns] of [
      ['node-a', p.a],
      ['node-b', p.b],
    ] as const) {
      p.exec(ns, 'ip', ['tuntap', 'add', 'dev', TAPS[node], 'mode', 'tap']);
      p.exec(ns, 'ip', ['link', 'set', TAPS[node], 'up']);
    }

    api = await FakeApiServer.start();
    registerPods(api, p);
    const netns: Record<Node, string> = { 'node-a': p.netnsPath(p.a), 'node-b': p.netnsPath(p.b) };
    const grid = new Grid(SCRAPE_S * 1000);
    const targets: Array<{ node: Node; port: number }> = [];
    const ports = { 'node-a': await freePort(), 'node-b': await freePort() };
    const kubeconfig = api.kubeconfigPath;
    const roots = {} as Record<Node, string>;
    for (const node of NODES) {
      roots[node] = path.join(dir, `root-${node}`);
      fs.mkdirSync(path.join(roots[node], 'sys'), { recursive: true });
      execFileSync('nsenter', [`--net=${netns[node]}`, 'mount', '-t', 'sysfs', 'sysfs', path.join(roots[node], 'sys')]);
      sysfs.push(path.join(roots[node], 'sys'));
    }
    await Promise.all(
      NODES.map(async (node) => {
        const config = agentConfig(node, netns[node], roots[node], kubeconfig, ports[node]);
        agents[node] = await Agent.start(config, ports[node]);
      }),
    );
    for (const node of NODES) {
      const relay = new GridRelay(grid, `http://127.0.0.1:${ports[node]}/metrics`);
      await relay.start();
      relays.push(relay);
      targets.push({ node, port: relay.port });
    }
    prometheus = new PrometheusServer(await freePort());
    await prometheus.start(prometheusConfig(targets));
    await until(() => relays.every((r) => r.last >= 0));

    // One of each drop first, so that every series exists before the span starts.
    const primer: Traffic = { toDb: 1, toNowhere: 1, intoDb: 1, frames: { 'node-a': 1, 'node-b': 1 } };
    await traffic(p, primer);
    const before = await counters(p);
    const spanStart = await settle(primer);
    const main: Traffic = { toDb: 37, toNowhere: 19, intoDb: 53, frames: { 'node-a': 29, 'node-b': 11 } };
    await traffic(p, main);
    const spanEnd = await settle({
      toDb: primer.toDb + main.toDb,
      toNowhere: primer.toNowhere + main.toNowhere,
      intoDb: primer.intoDb + main.intoDb,
      frames: {
        'node-a': primer.frames['node-a'] + main.frames['node-a'],
        'node-b': primer.frames['node-b'] + main.frames['node-b'],
      },
    });
    truth = truthBetween(before, await counters(p));
    expect(truth.drops.map((d) => d.packets)).toEqual([37, 19, 53, 29, 11]);

    // Every target sampled at every grid instant of the span and the rate window before it.
    for (const r of relays) {
      const missing: number[] = [];
      for (let n = spanStart - RATE_INTERVAL_S / SCRAPE_S; n <= spanEnd; n++)
        if (!r.served.some((s) => s.n === n)) missing.push(n);
      if (missing.length > 0)
        throw new Error(`Prometheus missed scrapes at grid instants ${missing.join(', ')} of ${r.upstream}`);
    }
    start = relays[0]!.instant(spanStart) / 1000;
    end = relays[0]!.instant(spanEnd) / 1000;
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    for (const r of relays) await r.stop();
    for (const node of NODES) await agents[node]?.stop();
    await api?.close();
    for (const mount of sysfs.splice(0)) execFileSync('umount', [mount]);
    pair?.destroy();
  });

  /** A panel's answer over the span: the area under each of its series (value × step). */
  async function answer(expr: string): Promise<Answer> {
    const series = await prometheus!.range(expr, start, end, SCRAPE_S);
    const out: Answer = {};
    for (const s of series) {
      const area = s.values.reduce((sum, [, v]) => sum + Number(v) * SCRAPE_S, 0);
      if (area !== 0) out[labelKey(s.metric)] = area;
    }
    return out;
  }

  it("offers the cluster and the nodes, as Retina's chart labels them, in the variables", async () => {
    expect(await prometheus!.labelValues(VARIABLES.cluster.label, VARIABLES.cluster.match)).toEqual([CLUSTER]);
    const nodes = interpolate(VARIABLES.Nodes.match, { cluster: CLUSTER });
    expect(await prometheus!.labelValues(VARIABLES.Nodes.label, nodes)).toEqual([...NODES]);
  });

  for (const panel of PANELS) {
    const selections = panel.variables.includes('Nodes') ? SELECTIONS : SELECTIONS.slice(0, 1);
    for (const selection of selections) {
      const name = `${panel.dashboard}: ${panel.title}${panel.variables.includes('Nodes') ? ` [Nodes: ${selection.name}]` : ''}`;
      const check = async () => {
        const expr = interpolate(panel.expr, {
          cluster: CLUSTER,
          Nodes: selection.value,
          __interval: `${SCRAPE_S}s`,
          __rate_interval: `${RATE_INTERVAL_S}s`,
          __range: `${end - start}s`,
        });
        const expected = panel.truth(truth, selection.nodes);
        const actual = await answer(expr);
        expect(actual).toEqual(expected);
      };
      it(name, check);
    }
  }

  for (const q of NOT_MADE)
    it(`${q.dashboard}: ${q.title} reads a metric dropreason does not make: no data`, async () => {
      expect(await prometheus!.instant(q.query)).toEqual([]);
    });
});
