/**
 * What the k8sattributes processor's pod cache costs: heap per pod and time per lookup,
 * at 100 and at 10,000 pods, loaded through the fake API server (test/k8s) by the real
 * @kubernetes/client-node. Run from the repository root:
 *
 *   npx tsc -p bench/tsconfig.json && node --expose-gc bench/.build/bench/pod_cache.js
 *
 * Each measurement runs in a child process of its own, so one run's heap does not weigh
 * on the next. Heap: heapUsed after a full GC, once the fake server holds the pods and
 * again once the processor has listed them and opened its watch; the difference is the
 * processor (its records, maps and client). Side by side, the reference: the client's
 * ListWatch keeping the whole pod objects, as an informer does by default. Lookups:
 * podAt() (one Map get) and enrich() of one pod's ResourceMetrics, over addresses in
 * random order: of the same ResourceMetrics again, as the receiver hands them over at
 * every collection (the processor hands on the resource it made before), and of new ones
 * (it makes the resource); side by side, the reference: a linear scan over the same
 * records, the cost a lookup would have if it were not indexed by address.
 *
 * Prints a markdown table and writes it to bench/.build/pod_cache.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNoopMeter } from '@opentelemetry/api';
import { CoreV1Api, KubeConfig, ListWatch, Watch, type V1Pod } from '@kubernetes/client-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

import { configSchema } from '../src/processors/k8sattributes/config.js';
import { K8sAttributesProcessor } from '../src/processors/k8sattributes/processor.js';
import type { PodRecord } from '../src/processors/k8sattributes/records.js';
import { createLogger } from '../src/service/logger.js';
import type { ConfigIssue } from '../src/service/schema.js';
import { FakeApiServer, makeCertificates } from '../test/k8s/fake_api_server.js';

const SIZES = [100, 10_000];
const LOOKUPS = 1_000_000;
const ENRICHES = 100_000;
const SCANS = 2_000;

type Mode = 'records' | 'whole-objects';

interface Result {
  pods: number;
  mode: Mode;
  heapBytes: number;
  podAtNs?: number;
  enrichUs?: number;
  enrichNewUs?: number;
  scanNs?: number;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) collect();
}

function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** A cluster of `n` pods: Deployments of 5 replicas over 20 namespaces, each pod with its ReplicaSet. */
function fill(server: FakeApiServer, n: number): void {
  for (let i = 0; i < n; i += 5) {
    const namespace = `ns-${(i / 5) % 20}`;
    const deployment = `app-${i / 5}`;
    const rs = `${deployment}-7d4b9c8f6d`;
    server.addReplicaSet(namespace, rs, deployment);
    for (let j = i; j < Math.min(n, i + 5); j++) {
      server.addPod({
        name: `${rs}-${j.toString(36).padStart(5, 'x')}`,
        namespace,
        node: `node-${j % 50}`,
        ips: [ipOf(j)],
        owner: { kind: 'ReplicaSet', name: rs },
        labels: { 'pod-template-hash': '7d4b9c8f6d', 'app.kubernetes.io/name': deployment },
      });
    }
  }
}

function time(iterations: number, body: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 10_000); i++) body(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) body(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

function shuffled(n: number): string[] {
  const ips = Array.from({ length: n }, (_, i) => ipOf(i));
  for (let i = ips.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ips[i], ips[j]] = [ips[j]!, ips[i]!];
  }
  return ips;
}

function podData(ip: string): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'dropreason', 'k8s.pod.ip': ip }),
    scopeMetrics: [
      {
        scope: { name: 'dropreason' },
        metrics: [
          {
            descriptor: { name: 'dropreason.pod.drop.count', description: '', unit: '{packet}', valueType: 1 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [
              {
                attributes: { reason: 'NO_SOCKET', direction: 'ingress' },
                startTime: [0, 0],
                endTime: [1, 0],
                value: 1,
              },
            ],
          },
        ],
      },
    ],
  };
}

async function measure(pods: number, mode: Mode): Promise<Result> {
  const certificates = makeCertificates();
  const server = await FakeApiServer.start({ certificates });
  fill(server, pods);
  const before = heapUsed();
  let result: Result;
  if (mode === 'records') {
    const issues: ConfigIssue[] = [];
    const config = configSchema.parse(
      {
        auth_type: 'kubeConfig',
        kube_config_path: server.kubeconfigPath,
        wait_for_metadata: true,
        wait_for_metadata_timeout: '5m',
      },
      'processors.k8sattributes',
      issues,
    );
    if (!config) throw new Error(JSON.stringify(issues));
    const processor = new K8sAttributesProcessor(
      {
        id: 'processors.k8sattributes',
        logger: createLogger('warn'),
        resource: resourceFromAttributes({}),
        meter: createNoopMeter(),
      },
      config,
      { consume: async () => {} },
    );
    await processor.start();
    const heapBytes = heapUsed() - before;
    if (!processor.podAt(ipOf(pods - 1))) throw new Error('the last pod was not listed');

    const ips = shuffled(pods);
    let found = 0;
    const podAtNs = time(LOOKUPS, (i) => {
      if (processor.podAt(ips[i % ips.length]!)) found++;
    });
    const data = ips.slice(0, 1000).map(podData);
    const enrichUs = time(ENRICHES, (i) => (found += processor.enrich([data[i % data.length]!]).length)) / 1000;
    // time() runs its body 10,000 times before it starts the clock: a new resource for each call.
    const fresh = Array.from({ length: ENRICHES + 10_000 }, (_, i) => podData(ips[i % ips.length]!));
    let next = 0;
    const enrichNewUs = time(ENRICHES, () => (found += processor.enrich([fresh[next++]!]).length)) / 1000;
    const records: PodRecord[] = Array.from({ length: pods }, (_, i) => processor.podAt(ipOf(i))!);
    const scanNs = time(SCANS, (i) => {
      const ip = ips[i % ips.length]!;
      if (records.find((r) => r.ips.includes(ip))) found++;
    });
    if (found === 0) throw new Error('nothing was found');
    result = { pods, mode, heapBytes, podAtNs, enrichUs, enrichNewUs, scanNs };
    await processor.shutdown();
  } else {
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc), () => core.listPodForAllNamespaces(), false);
    await informer.start();
    const heapBytes = heapUsed() - before;
    if (informer.list().length !== pods) throw new Error('the reference did not list every pod');
    result = { pods, mode, heapBytes };
    await informer.stop();
  }
  await server.close();
  fs.rmSync(certificates.dir, { recursive: true, force: true });
  return result;
}

function table(results: Result[]): string {
  const get = (pods: number, mode: Mode) => results.find((r) => r.pods === pods && r.mode === mode)!;
  const mib = (b: number) => (b / 1024 / 1024).toFixed(2);
  const lines = [
    '| pods | heap, records (MiB) | per pod (B) | heap, whole objects: reference (MiB) | per pod (B) | podAt() (ns/call) | enrich() of one resource, again (µs) | enrich() of a new resource (µs) | linear scan: reference (ns/call) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const pods of SIZES) {
    const r = get(pods, 'records');
    const w = get(pods, 'whole-objects');
    lines.push(
      `| ${pods.toLocaleString('en-US')} | ${mib(r.heapBytes)} | ${Math.round(r.heapBytes / pods)} | ${mib(w.heapBytes)} | ${Math.round(w.heapBytes / pods)} | ${r.podAtNs!.toFixed(0)} | ${r.enrichUs!.toFixed(2)} | ${r.enrichNewUs!.toFixed(2)} | ${r.scanNs!.toFixed(0)} |`,
    );
  }
  const [small, large] = SIZES as [number, number];
  const marginal = (mode: Mode) =>
    Math.round((get(large, mode).heapBytes - get(small, mode).heapBytes) / (large - small));
  lines.push(
    '',
    `Per additional pod (from ${small} to ${large.toLocaleString('en-US')}): records ${marginal('records')} B, whole objects ${marginal('whole-objects')} B.`,
    `Node ${process.version}, ${process.platform}/${process.arch}; ${LOOKUPS.toLocaleString('en-US')} podAt() and ${ENRICHES.toLocaleString('en-US')} enrich() calls over addresses in random order.`,
  );
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const [, script, pods, mode] = process.argv;
  if (pods && mode) {
    process.stdout.write(JSON.stringify(await measure(Number(pods), mode as Mode)) + '\n');
    return;
  }
  const results: Result[] = [];
  for (const size of SIZES) {
    for (const m of ['records', 'whole-objects'] as const) {
      const out = execFileSync(process.execPath, ['--expose-gc', script!, String(size), m], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      results.push(JSON.parse(out.trim().split('\n').at(-1)!) as Result);
    }
  }
  const markdown = table(results);
  process.stdout.write(markdown);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const buildDir = path.resolve(here, '..');
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(path.join(buildDir, 'pod_cache.md'), markdown);
}

await main();
