/**
 * Interface-level drops: the agent serves each interface's drop counters as the kernel
 * keeps them. A veth pair joins the agent's (host) namespace to a test namespace; raw
 * Ethernet frames of an unused ethertype sent into it raise the host end's rx_dropped by
 * exactly the number of frames, and frames sent out of it while its peer is down raise
 * its tx_dropped. What the agent serves, in both namings, must equal
 * /sys/class/net/DEV/statistics read by the test; when the veth goes, so does its series.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, freePort, isRoot, sleep } from './harness/agent.js';
import { sh } from './harness/topology.js';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const RX_FRAMES = 37;
const TX_FRAMES = 23;

if (!isRoot) console.log('skipping interface drop tests: they need root to make veths and load eBPF');

/** The kernel's counter, read the way any tool would. */
function kernelCounter(dev: string, statistic: string): number {
  return Number(fs.readFileSync(`/sys/class/net/${dev}/statistics/${statistic}`, 'utf8'));
}

describe.skipIf(!isRoot)('interface drops of the agent namespace', () => {
  const tag = `${process.pid % 100000}`;
  const ns = `dr-if-${tag}`;
  const host = `drifh${tag}`.slice(0, 15); // in the agent's namespace
  const peer = `drifp${tag}`.slice(0, 15); // in the test namespace
  let rawFrames = '';
  let agent: Agent | undefined;
  let otelPort = 0;
  let retinaPort = 0;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-frames-'));
    rawFrames = path.join(dir, 'raw_frames');
    execFileSync('cc', ['-O2', '-o', rawFrames, path.join(HERE, 'harness/raw_frames.c')]);
    sh('ip', ['netns', 'add', ns]);
    // IPv6 off on both ends, so no neighbour discovery or router solicitation reaches a counter.
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', ns]);
    sh('sysctl', ['-qw', `net.ipv6.conf.${host}.disable_ipv6=1`]);
    sh('ip', ['link', 'set', host, 'up']);
    sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up']);
    [otelPort, retinaPort] = [await freePort(), await freePort()];
    agent = await Agent.start(
      `receivers:
  dropreason:
    collection_interval: 200ms
    interfaces:
      include: ['drifh${tag}.*']
exporters:
  prometheus:
    endpoint: 127.0.0.1:${otelPort}
    # Longer than a collection that names a new drop site takes in an emulated guest.
    metric_expiration: 10s
  prometheus/retina:
    endpoint: 127.0.0.1:${retinaPort}
    metric_expiration: 10s
    naming: retina
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [prometheus, prometheus/retina]
`,
      otelPort,
    );
  });

  afterAll(async () => {
    await agent?.stop();
    try {
      sh('ip', ['link', 'del', host]);
    } catch {
      // deleted by the test
    }
    sh('ip', ['netns', 'del', ns]);
  });

  interface Series {
    name: string;
    labels: Record<string, string>;
    port: number;
  }
  const otel = (statistic: string, direction: string): Series => ({
    name: 'system_network_packet_dropped_total',
    labels: {
      dropreason_interface_statistic: statistic,
      network_interface_name: host,
      network_io_direction: direction,
    },
    port: otelPort,
  });
  const retina = (statistic: string): Series => ({
    name: 'networkobservability_interface_stats',
    labels: { interface_name: host, statistic_name: statistic },
    port: retinaPort,
  });

  /** The served value once it has caught up with the kernel's (the agent reads every 200ms). */
  async function served(series: Series, kernel: number): Promise<number> {
    const deadline = Date.now() + 15_000;
    let value = await agent!.value(series.name, series.labels, series.port);
    while (value !== kernel && Date.now() < deadline) {
      await sleep(100);
      value = await agent!.value(series.name, series.labels, series.port);
    }
    return value;
  }

  it('serves rx_dropped and tx_dropped as the kernel counts them, in both namings', async () => {
    const rxBefore = kernelCounter(host, 'rx_dropped');
    expect(sh('ip', ['netns', 'exec', ns, rawFrames, peer, String(RX_FRAMES)])).toBe(`{"sent":${RX_FRAMES}}\n`);
    const rx = kernelCounter(host, 'rx_dropped');
    expect(rx - rxBefore).toBe(RX_FRAMES);

    // With the peer down, every frame the host end sends is dropped on its way out.
    sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', peer, 'down']);
    const txBefore = kernelCounter(host, 'tx_dropped');
    expect(sh(rawFrames, [host, String(TX_FRAMES)])).toBe(`{"sent":${TX_FRAMES}}\n`);
    const tx = kernelCounter(host, 'tx_dropped');
    if (tx === txBefore) {
      // Some kernels (6.1) drop a veth's frames to a peer that is down without counting them.
      console.log(
        `tx_dropped: ${os.release()} does not count frames sent to a veth whose peer is down; served is compared with it as it stands`,
      );
    } else {
      expect(tx - txBefore).toBe(TX_FRAMES);
    }

    expect(await served(otel('rx_dropped', 'receive'), rx)).toBe(rx);
    expect(await served(otel('tx_dropped', 'transmit'), tx)).toBe(tx);
    expect(await served(retina('rx_dropped'), rx)).toBe(rx);
    expect(await served(retina('tx_dropped'), tx)).toBe(tx);
    for (const s of ['rx_missed_errors', 'rx_fifo_errors', 'rx_over_errors']) {
      const kernel = kernelCounter(host, s);
      expect(await served(otel(s, 'receive'), kernel), s).toBe(kernel);
      expect(await served(retina(s), kernel), s).toBe(kernel);
    }

    // Only the included interfaces are reported.
    const text = await agent!.scrapeText(otelPort);
    const names = new Set([...text.matchAll(/network_interface_name="([^"]*)"/g)].map((m) => m[1]));
    expect([...names]).toEqual([host]);
  });

  it('stops serving an interface once it is gone and metric_expiration has passed', async () => {
    const present = async () => {
      const [o, r] = [await agent!.scrapeText(otelPort), await agent!.scrapeText(retinaPort)];
      return o.includes(`network_interface_name="${host}"`) || r.includes(`interface_name="${host}"`);
    };
    expect(await present()).toBe(true);
    sh('ip', ['link', 'del', host]);
    const deadline = Date.now() + 40_000;
    while ((await present()) && Date.now() < deadline) await sleep(200);
    expect(await present()).toBe(false);
  });
});
