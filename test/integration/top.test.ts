/**
 * `dropreason top` on the real kernel, through the real CLI: drops the test makes in a
 * network namespace must show in its last table with the count of the iptables rule that
 * dropped them, both from its own in-process counter and from a running agent's
 * Prometheus endpoint. The in-process view counts only the test namespace (--netns), and
 * the agent likewise, so the host's own drops do not touch the rows checked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';

import { FakeApiServer } from '../k8s/fake_api_server.js';
import { Agent, basicConfig, cliCommand, freePort, isRoot, removePublicCopy, runCli, sleep } from './harness/agent.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const N = 137;
const PAYLOAD = 100;
const INTERVAL = '250ms';
/**
 * How long a step may take before the test fails: long, as an emulated guest sharing the
 * machine with others can take many seconds to load a program or start a process. The
 * tests wait for what they need to see, never for a number of refreshes.
 */
const STEP_MS = 90_000;
const TEST_MS = 4 * STEP_MS;

if (!isRoot) console.log('skipping dropreason top tests: they need root to load eBPF and make network namespaces');

/** A running `dropreason top`, its output so far, and its exit; killed when the test finishes. */
class Top {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[], opts: { asNobody?: boolean; env?: NodeJS.ProcessEnv } = {}) {
    const [cmd, ...rest] = [...cliCommand(opts), 'top', ...args];
    this.child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    this.child.stdout!.on('data', (d) => (this.stdout += d));
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    onTestFinished(() => this.kill());
  }

  /** Waits until the output so far satisfies `ready`; fails if it exits or takes too long. */
  async until(ready: (t: Top) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + STEP_MS;
    while (!ready(this)) {
      if (this.child.exitCode !== null) throw new Error(`top exited with ${this.child.exitCode}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`top did not show ${what}:\n${this.stdout}\n${this.stderr}`);
      await sleep(50);
    }
  }

  /** Each screen printed, in order. */
  get screens(): string[] {
    return this.stdout.split(/\n(?=dropreason top:)/).filter((s) => s.startsWith('dropreason top:'));
  }

  /** Stops it as Ctrl-C would, and returns its exit code. */
  stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  /**
   * Waits for the first screen whose row shows `packets`, and one screen after it (so the
   * count stayed there), then stops it; returns the screens.
   */
  async settle(packets: number, reason: string, direction: string, pod?: string): Promise<string[]> {
    let shown = -1;
    await this.until(
      (t) => {
        if (shown < 0) shown = t.screens.findIndex((sc) => row(sc, reason, direction, pod)?.packets === packets);
        return shown >= 0 && t.screens.length > shown + 1;
      },
      `${packets} packets of ${pod ?? ''} ${reason} ${direction} on two screens`,
    );
    expect(await this.stop()).toBe(0);
    return this.screens;
  }
}

/** The rate and packets of one row of a screen's reason table, or of its pod table when `pod` is given. */
function row(
  screen: string,
  reason: string,
  direction: string,
  pod?: string,
): { rate: string; packets: number } | undefined {
  const lead = pod ? `${pod.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+` : '';
  // The reason table has a LOCATION column (a function name) when the agent counts locations.
  const location = pod ? '' : '(?:[A-Za-z_][\\w.]*\\s+)?';
  const m = new RegExp(`^${lead}${reason}\\s+${direction}\\s+${location}(-|\\d+\\.\\d)\\s+(\\d+)`, 'm').exec(screen);
  return m ? { rate: m[1]!, packets: Number(m[2]) } : undefined;
}

describe.skipIf(!isRoot)('dropreason top on the real kernel', () => {
  afterAll(removePublicCopy);

  /** Two namespaces; a's OUTPUT drops UDP to b's port 9. */
  function topology(tag: string): NetnsPair {
    const pair = NetnsPair.forTest(tag);
    dropUdpRule(pair, 'OUTPUT', 9);
    return pair;
  }

  function sendDrops(pair: NetnsPair): void {
    const out = pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(N), String(PAYLOAD)]);
    expect((JSON.parse(out) as { outcomes: unknown }).outcomes).toEqual({ EPERM: N });
  }

  it(
    'counts drops itself, by reason and by pod address, equal to the iptables rule',
    async () => {
      const pair = topology('top');
      const top = new Top(['--advanced', '--netns', pair.netnsPath(pair.a), '--interval', INTERVAL]);
      // The first screen comes once the counter is attached.
      await top.until((t) => t.screens.length > 0, 'a first screen');
      expect(row(top.screens[0]!, 'IPTABLE_RULE_DROP', 'egress')).toBeUndefined();

      sendDrops(pair);
      const rule = ruleCounters(pair, pair.a, 'OUTPUT');
      expect(rule.packets).toBe(N);

      const screens = await top.settle(rule.packets, 'IPTABLE_RULE_DROP', 'egress');
      const last = screens.at(-1)!;
      expect(last).toContain(`dropreason top: drops in netns ${pair.netnsPath(pair.a)}, every 250ms`);
      expect(row(last, 'IPTABLE_RULE_DROP', 'egress')?.packets).toBe(rule.packets);
      expect(row(last, 'IPTABLE_RULE_DROP', 'egress', pair.addrA)?.packets).toBe(rule.packets);
      // While the packets were being dropped, some screen showed them at a rate above zero.
      const rates = screens.map((s) => Number(row(s, 'IPTABLE_RULE_DROP', 'egress')?.rate ?? 0));
      expect(Math.max(...rates)).toBeGreaterThan(0);
      expect(top.stderr).toBe('');
    },
    TEST_MS,
  );

  it(
    'exits by itself after --count refreshes',
    async () => {
      const pair = topology('topcount');
      const top = new Top(['--netns', pair.netnsPath(pair.a), '--interval', INTERVAL, '--count', '3']);
      expect(await top.exited).toBe(0);
      expect(top.screens).toHaveLength(3);
      expect(top.stderr).toBe('');
    },
    TEST_MS,
  );

  it(
    'names the pods of this node through a kubeconfig',
    async () => {
      const pair = topology('topk8s');
      const api = await FakeApiServer.start();
      onTestFinished(() => api.close());
      api.addPod({ name: 'web-0', namespace: 'shop', node: 'node-a', ips: [pair.addrA] });
      api.addPod({ name: 'elsewhere', namespace: 'shop', node: 'node-b', ips: ['198.19.0.9'] });
      const args = ['-a', '--kubeconfig', api.kubeconfigPath, '--netns', pair.netnsPath(pair.a)];
      const top = new Top([...args, '--interval', INTERVAL], { env: { K8S_NODE_NAME: 'node-a' } });
      await top.until((t) => t.screens.length > 0, 'a first screen');
      sendDrops(pair);
      const rule = ruleCounters(pair, pair.a, 'OUTPUT');
      expect(rule.packets).toBe(N);

      const screens = await top.settle(rule.packets, 'IPTABLE_RULE_DROP', 'egress', 'shop/web-0');
      expect(row(screens.at(-1)!, 'IPTABLE_RULE_DROP', 'egress', 'shop/web-0')?.packets).toBe(rule.packets);
      // Only this node's pods are watched.
      expect(new Set(api.requestsFor('pods').map((r) => r.query['fieldSelector']))).toEqual(
        new Set(['spec.nodeName=node-a']),
      );
    },
    TEST_MS,
  );

  it(
    "reads a running agent's endpoint without privileges, retrying until it is up",
    async () => {
      const pair = topology('topep');
      const port = await freePort();
      const top = new Top(['--endpoint', `127.0.0.1:${port}`, '--interval', INTERVAL], { asNobody: true });
      await top.until(
        (t) => t.stderr.includes(`cannot read http://127.0.0.1:${port}/metrics: ECONNREFUSED; retrying every 250ms`),
        'that the endpoint is down',
      );

      const agent = await Agent.startForTest(
        basicConfig(port, { netns: pair.netnsPath(pair.a), interval: INTERVAL }),
        port,
      );
      await top.until((t) => t.screens.length > 0, 'a first screen');
      sendDrops(pair);
      const rule = ruleCounters(pair, pair.a, 'OUTPUT');
      expect(rule.packets).toBe(N);
      const agentCount = await agent.settle(
        'dropreason_drop_count_total',
        { reason: 'IPTABLE_RULE_DROP', direction: 'egress' },
        N,
        250,
      );
      expect(agentCount).toBe(rule.packets);

      const screens = await top.settle(rule.packets, 'IPTABLE_RULE_DROP', 'egress');
      const last = screens.at(-1)!;
      expect(last).toContain(`dropreason top: http://127.0.0.1:${port}/metrics, every 250ms`);
      // Before the first drop the agent serves nothing, which is not mistaken for another endpoint.
      expect(top.stdout).not.toContain('no dropreason metrics');
      expect(row(last, 'IPTABLE_RULE_DROP', 'egress')?.packets).toBe(rule.packets);
      const rates = screens.map((s) => Number(row(s, 'IPTABLE_RULE_DROP', 'egress')?.rate ?? 0));
      expect(Math.max(...rates)).toBeGreaterThan(0);
    },
    TEST_MS,
  );

  it('names the missing capabilities when not root, as the agent does', async () => {
    const r = await runCli(['top', '--count', '1'], { asNobody: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^dropreason: receivers\.dropreason: missing capability CAP_BPF and CAP_PERFMON: .*; or read a running agent without them: dropreason top --endpoint URL$/,
    );
  });
});
