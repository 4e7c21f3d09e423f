/**
 * Drop locations on the real kernel: for each drop the test makes between two network
 * namespaces, the agent's `location` attribute must be the function the kernel reports
 * for that drop, read by the test itself: the kfree_skb tracepoint's location argument as
 * bpftrace sees it, keyed by the skb's length, which differs per scenario, and named by the
 * test's own reading of /proc/kallsyms. Runs on every kernel of the matrix: before 5.17 the
 * same drops read UNKNOWN_DROP (no reason given) and IPTABLE_RULE_DROP through the
 * nf_hook_slow hook, with the same locations.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { Agent, basicConfig, freePort, isRoot, labelsOf } from './harness/agent.js';
import { readKallsyms } from './harness/kallsyms.js';
import { NetnsPair, sh } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const COUNT = 'dropreason_drop_count_total';
const N = 53;
const IP_HEADER = 20;
const UDP_HEADER = 8;
const [major = 0, minor = 0] = os.release().split('.').map(Number);
/** What UDP to a closed port reads: kernels before 5.17 give no reason. */
const NO_SOCKET = major > 5 || (major === 5 && minor >= 17) ? 'NO_SOCKET' : 'UNKNOWN_DROP';

const hasBpftrace = (() => {
  try {
    sh('bpftrace', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
if (!isRoot) console.log('skipping location tests: they need root to load eBPF and make network namespaces');
else if (!hasBpftrace)
  console.log('skipping location tests: they read the kernel location with bpftrace, not installed');

/** How long bpftrace may take to attach. */
const BPFTRACE_DEADLINE_MS = 60_000;
/** How long bpftrace may take to print the drops once the agent has counted them. */
const BPFTRACE_SEEN_MS = 120_000;

/**
 * bpftrace counting kfree_skb by its location address and the skb's length, and printing
 * its map twice a second, so that nothing waits on bpftrace exiting (which took minutes in
 * loaded emulated guests, as it detached and named its keys). A bpftrace that cannot read
 * the kernel's struct sk_buff (on 5.10 here) counts by location alone: `byLength` is false
 * then. Its BEGIN probe prints "ready" once every probe is attached; a bpftrace that exits
 * before that (it can fail to attach on a loaded machine) is started again, twice at most,
 * before any drop is made.
 */
class KernelLocations {
  private out = '';
  private constructor(
    private readonly child: ChildProcess,
    readonly byLength: boolean,
  ) {}

  static async start(): Promise<KernelLocations> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await KernelLocations.run(true);
      } catch (e) {
        if (/Unknown struct\/union: 'struct sk_buff'/.test(String(e))) return KernelLocations.run(false);
        if (attempt === 3) throw e;
        console.log(`bpftrace did not attach (attempt ${attempt}), starting it again: ${String(e)}`);
      }
    }
  }

  private static async run(byLength: boolean): Promise<KernelLocations> {
    const key = byLength ? '(uint64)args->location, ((struct sk_buff *)args->skbaddr)->len' : '(uint64)args->location';
    const program = [
      'BEGIN { printf("ready\\n"); }',
      `tracepoint:skb:kfree_skb { @[${key}] = count(); }`,
      'interval:ms:500 { print(@); }',
    ].join(' ');
    const child = spawn('bpftrace', ['-B', 'line', '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
    const k = new KernelLocations(child, byLength);
    child.stdout!.on('data', (d: Buffer) => (k.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (k.out += d.toString()));
    const deadline = Date.now() + BPFTRACE_DEADLINE_MS;
    while (!/^ready$/m.test(k.out)) {
      k.checkRunning('before attaching');
      if (Date.now() > deadline) {
        k.kill();
        throw new Error(`bpftrace did not attach within ${BPFTRACE_DEADLINE_MS / 1000} s: ${k.out}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return k;
  }

  /**
   * Waits until bpftrace has printed at least `n` frees of `len`-byte skbs at one location
   * (or, by location alone, `n` frees at one location), stops it, and returns its last
   * counts: "address len" (or "address") → count, the address unsigned in decimal.
   */
  async seen(n: number, len: number): Promise<Map<string, number>> {
    const suffix = this.byLength ? ` ${len}` : '';
    const deadline = Date.now() + BPFTRACE_SEEN_MS;
    for (;;) {
      this.checkRunning('while counting');
      const counts = new Map<string, number>();
      // The map is printed whole each time and its counts only grow: the last line per key is the newest.
      for (const m of this.out.matchAll(/^@\[(-?\d+)(?:, (\d+))?\]: (\d+)$/gm)) {
        const address = BigInt.asUintN(64, BigInt(m[1]!));
        counts.set(m[2] === undefined ? `${address}` : `${address} ${m[2]}`, Number(m[3]));
      }
      if ([...counts].some(([k, c]) => k.endsWith(suffix) && c >= n)) {
        this.kill();
        return counts;
      }
      if (Date.now() > deadline) {
        this.kill();
        throw new Error(`bpftrace printed no ${n} frees of ${len}-byte skbs within ${BPFTRACE_SEEN_MS / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private checkRunning(when: string): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`bpftrace exited (${this.child.exitCode ?? this.child.signalCode}) ${when}: ${this.out}`);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * The names of the kernel text symbol holding `address`, read from /proc/kallsyms by the
 * test itself: those at the highest address at or below it (aliases share an address).
 */
function kallsymsNames(address: bigint): string[] {
  let best = -1n;
  let names: string[] = [];
  for (const { address: at, type, name } of readKallsyms()) {
    if ((type !== 't' && type !== 'T') || at > address || at < best) continue;
    if (at > best) [best, names] = [at, []];
    names.push(name);
  }
  return names;
}

/**
 * A scenario's waits are bounded one by one (agent start, bpftrace's attach and exit, the
 * count settling), and in an emulated guest they add up to more than the default 120 s.
 */
const SCENARIO_TIMEOUT_MS = 420_000;

describe.skipIf(!isRoot || !hasBpftrace)('drop locations on the real kernel', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  /** The running test's agent. */
  let agent: Agent | undefined;

  beforeAll(() => {
    // bpftrace and the classic tracepoint need tracefs.
    sh('sh', ['-c', '[ -e /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing']);
  });

  /** The agent's series of a reason and direction: location → count. */
  async function agentLocations(reason: string, direction: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [key, value] of await agent!.scrape()) {
      if (!key.startsWith(`${COUNT}{`)) continue;
      const l = labelsOf(key);
      if (l.reason === reason && l.direction === direction) out.set(l.location ?? '', value);
    }
    return out;
  }

  /**
   * Makes N drops of skbs `len` bytes long with `drop`, counted by the agent in namespace
   * `ns` and by bpftrace node-wide, and returns the kernel's function for them and the
   * agent's series of that reason and direction.
   */
  async function scenario(
    tag: string,
    ns: 'a' | 'b',
    opts: { hook?: string; location?: boolean },
    reason: string,
    direction: string,
    len: number,
    drop: (pair: NetnsPair) => void,
  ): Promise<{ kernelFunction: string; agent: Map<string, number> }> {
    // Each step's time, printed if the test fails: the waits below are bounded one by one.
    const t0 = Date.now();
    const steps: string[] = [];
    const step = (what: string) => steps.push(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    onTestFinished(({ task }) => {
      if (task.result?.state !== 'pass') console.log(`${tag}: ${steps.join(', ') || 'no step done'}`);
    });
    const pair = NetnsPair.forTest(tag, 'ipv4');
    const port = await freePort();
    let config = basicConfig(port, { netns: pair.netnsPath(ns === 'a' ? pair.a : pair.b), hook: opts.hook });
    config = config.replace(
      '    collection_interval:',
      `    location: ${opts.location ?? true}\n    collection_interval:`,
    );
    step('namespaces made');
    agent = await Agent.startForTest(config, port);
    step('agent ready');
    const kernel = await KernelLocations.start();
    onTestFinished(() => kernel.kill());
    step('bpftrace attached');

    drop(pair);
    step('drops made');

    await agent.settle(COUNT, { reason, direction }, N);
    step('agent settled');
    const counts = await kernel.seen(N, len);
    step('bpftrace counted them');
    // The location bpftrace saw free N skbs of this length (node-wide: others may add
    // some), or by location alone the one that freed at least N.
    const suffix = kernel.byLength ? ` ${len}` : '';
    const candidates = [...counts].filter(([k, c]) => k.endsWith(suffix) && c >= N);
    expect(candidates.length, `bpftrace saw no ${N} frees of ${len}-byte skbs: ${JSON.stringify([...counts])}`).toBe(1);
    const address = BigInt(candidates[0]![0].split(' ')[0]!);
    const names = kallsymsNames(address);
    step('location named');
    expect(names.length, `no kernel text symbol holds 0x${address.toString(16)}`).toBeGreaterThan(0);
    const agentSeries = await agentLocations(reason, direction);
    // An address two symbols share is named by either.
    const kernelFunction = names.find((n) => agentSeries.has(n)) ?? names[0]!;
    return { kernelFunction, agent: agentSeries };
  }

  const sendUdp = (port: number, payload: number) => (p: NetnsPair) =>
    void p.exec(p.a, process.execPath, [SEND, 'udp', p.addrB, String(port), String(N), String(payload)]);
  const rule = (chain: 'OUTPUT' | 'INPUT', ns: 'a' | 'b') => (p: NetnsPair) =>
    void p.exec(ns === 'a' ? p.a : p.b, p.iptables, ['-w', '-A', chain, '-p', 'udp', '--dport', '9', '-j', 'DROP']);

  it('UDP to a closed port: NO_SOCKET at the function the kernel reports', async () => {
    const payload = 211;
    const r = await scenario('locu', 'b', {}, NO_SOCKET, 'ingress', UDP_HEADER + payload, sendUdp(7777, payload));
    expect(r.agent).toEqual(new Map([[r.kernelFunction, N]]));
    expect(r.kernelFunction).not.toMatch(/^0x/);
  });

  it('an iptables OUTPUT DROP: IPTABLE_RULE_DROP egress at the function the kernel reports', async () => {
    const payload = 223;
    const r = await scenario('loco', 'a', {}, 'IPTABLE_RULE_DROP', 'egress', IP_HEADER + UDP_HEADER + payload, (p) => {
      rule('OUTPUT', 'a')(p);
      sendUdp(9, payload)(p);
    });
    expect(r.agent).toEqual(new Map([[r.kernelFunction, N]]));
  });

  it('an iptables INPUT DROP: IPTABLE_RULE_DROP ingress, through the classic tracepoint too', async () => {
    const payload = 227;
    const r = await scenario(
      'loci',
      'b',
      { hook: 'tracepoint' },
      'IPTABLE_RULE_DROP',
      'ingress',
      IP_HEADER + UDP_HEADER + payload,
      (p) => {
        rule('INPUT', 'b')(p);
        sendUdp(9, payload)(p);
      },
    );
    expect(r.agent).toEqual(new Map([[r.kernelFunction, N]]));
    expect(agent!.stderr).toContain('hook=tracepoint/skb/kfree_skb');
  });

  it('location: false counts the same drops without the attribute', async () => {
    const payload = 229;
    const r = await scenario(
      'locf',
      'b',
      { location: false },
      NO_SOCKET,
      'ingress',
      UDP_HEADER + payload,
      sendUdp(7777, payload),
    );
    expect(r.agent).toEqual(new Map([['', N]]));
  });
});
