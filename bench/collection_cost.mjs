// What advanced mode's userspace costs per collection, outside the kernel: FLOWS flows
// from PODS local addresses go through the flow table (FlowTable.add, then
// resourceMetrics), the Prometheus exporter's accumulator and one scrape's serialization,
// COLLECTIONS times; prints the mean milliseconds of each step and the process's VmRSS at
// the end. Run from the repository root after npm run build:ts, with the agent's flags:
//
//   FLOWS=10000 PODS=1000 node --max-semi-space-size=1 --no-opt --no-maglev bench/collection_cost.mjs
//
// Each flow counts 3 drops per collection, so every series changes every time.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

import { Accumulator } from '../dist/exporters/prometheus/accumulator.js';
import { serialize } from '../dist/translator/prometheus/serializer.js';
import { FlowTable } from '../dist/receiver/dropreason/flows.js';
import { ReasonNames } from '../dist/receiver/dropreason/reasons.js';
import { agentResource } from '../dist/service/service.js';

const FLOWS = Number(process.env.FLOWS ?? 10_000);
const PODS = Number(process.env.PODS ?? 1);
const COLLECTIONS = Number(process.env.COLLECTIONS ?? 10);

const table = new FlowTable(new ReasonNames(null), {
  peerAttributes: ['address', 'port', 'transport'],
  ttlMs: 3_600_000,
  exclude: new Set(),
});
const base = agentResource();
const accumulator = new Accumulator(3_600_000);
const labelCache = new WeakMap();
const flows = Array.from({ length: FLOWS }, (_, i) => {
  const pod = i % PODS;
  const peer = Math.floor(i / 10);
  return {
    reason: 2,
    origin: 0,
    direction: 1,
    family: 4,
    protocol: 17,
    remotePort: 1024 + (i % 10),
    localAddress: `10.${(pod >> 16) & 255}.${(pod >> 8) & 255}.${pod & 255}`,
    remoteAddress: `198.19.${(peer >> 8) & 255}.${peer & 255}`,
    location: 0n,
    count: 3,
    bytes: 100,
  };
});

const ms = { add: 0, resourceMetrics: 0, accumulator: 0, scrape: 0 };
let bytes = 0;
let now = Date.now();
for (let i = 0; i < COLLECTIONS; i++) {
  now += 10_000;
  const t0 = performance.now();
  table.add(flows, [], now);
  const t1 = performance.now();
  const metrics = table.resourceMetrics(base, now);
  const t2 = performance.now();
  accumulator.add(metrics);
  const t3 = performance.now();
  bytes = serialize(accumulator.collect(), { labelCache }).length;
  const t4 = performance.now();
  ms.add += t1 - t0;
  ms.resourceMetrics += t2 - t1;
  ms.accumulator += t3 - t2;
  ms.scrape += t4 - t3;
}
const rss = Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const f = (x) => (x / COLLECTIONS).toFixed(1);
const total = ms.add + ms.resourceMetrics + ms.accumulator + ms.scrape;
console.log(
  `| ${FLOWS.toLocaleString('en')} | ${PODS.toLocaleString('en')} | ${f(ms.add)} | ${f(ms.resourceMetrics)} | ${f(ms.accumulator)} | ${f(ms.scrape)} | ${f(total)} | ${(bytes / 1e6).toFixed(1)} | ${rss.toFixed(1)} |`,
);
