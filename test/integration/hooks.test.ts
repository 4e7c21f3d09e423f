/**
 * Retina's function-hook reasons on the real kernel. They need fexit or kprobes, which
 * the kernels of the QEMU matrix (test/kernels) have; where neither attaches, each test
 * checks that the hook is reported unavailable and skips its counting part with the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

import { Agent, basicConfig, freePort, isRoot } from './harness/agent.js';
import { dropUdpRule, NetnsPair, ruleCounters } from './harness/topology.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SEND = path.join(HERE, 'harness/send.mjs');
const COUNT = 'dropreason_drop_count_total';
const N = 23;

if (!isRoot) console.log('skipping function hook tests: they need root to load eBPF and make network namespaces');

/** The strategy the agent logged for a hooked function, or 'unavailable'. */
function strategyOf(agent: Agent, fn: string): string {
  const line = agent.stderr.split('\n').find((l) => l.includes(`function=${fn} `));
  if (!line) throw new Error(`agent logged nothing about ${fn}:\n${agent.stderr}`);
  return line.includes('function hook attached') ? /strategy=(\w+)/.exec(line)![1]! : 'unavailable';
}

describe.skipIf(!isRoot)('function hooks', () => {
  let acceptFail = '';

  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-accept-'));
    acceptFail = path.join(dir, 'accept_fail');
    execFileSync('cc', ['-O2', '-o', acceptFail, path.join(HERE, 'harness/accept_fail.c')]);
  });

  async function start(
    family: 'ipv4' | 'ipv6' = 'ipv4',
    prepare?: (p: NetnsPair) => void,
    functionHooks?: string,
  ): Promise<[NetnsPair, Agent]> {
    const pair = NetnsPair.forTest('hook', family);
    prepare?.(pair); // e.g. load nf_nat before the agent looks for nf_nat_inet_fn
    const port = await freePort();
    const agent = await Agent.startForTest(basicConfig(port, { netns: pair.netnsPath(pair.a), functionHooks }), port);
    return [pair, agent];
  }

  /** An nftables NAT chain in the sending namespace that drops new UDP flows to port 9. */
  function natDropChain(p: NetnsPair): void {
    const rules = [
      'add table ip drnat',
      'add chain ip drnat out { type nat hook output priority -100 ; }',
      // `ct state` makes the namespace track connections; NAT chains see only tracked packets.
      `add rule ip drnat out ip daddr ${p.addrB} udp dport 9 ct state new counter drop`,
    ];
    for (const r of rules) p.exec(p.a, 'nft', [r]);
  }

  /** Sends N datagrams into the NAT drop chain; checks the agent counts each once, as NAT. */
  async function expectNatDrops(pair: NetnsPair, agent: Agent): Promise<void> {
    const sent = JSON.parse(pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(N), '32'])) as {
      outcomes: Record<string, number>;
    };
    expect(sent.outcomes).toEqual({ EPERM: N }); // every datagram dropped on the way out

    const nft = pair.exec(pair.a, 'nft', ['list', 'chain', 'ip', 'drnat', 'out']);
    const ruleCount = Number(/counter packets (\d+)/.exec(nft)![1]);
    expect(ruleCount).toBe(N);
    expect(await agent.settle(COUNT, { reason: 'IPTABLE_NAT_DROP', direction: 'egress' }, N)).toBe(N);
    // Refined, not added: the same drops are not also counted as a plain netfilter drop.
    expect(await agent.value(COUNT, { reason: 'IPTABLE_RULE_DROP', direction: 'egress' })).toBe(0);
  }

  for (const strategy of ['auto', 'kprobe'] as const) {
    it(`reports a drop in an nftables NAT chain as IPTABLE_NAT_DROP, counted once (${strategy})`, async ({ skip }) => {
      const [pair, agent] = await start('ipv4', natDropChain, strategy);
      if (strategyOf(agent, 'nf_nat_inet_fn') === 'unavailable') {
        skip(
          `nf_nat_inet_fn: ${strategy === 'auto' ? 'neither fexit nor kprobes attach' : 'kprobes do not attach'} on this kernel`,
        );
      }
      await expectNatDrops(pair, agent);
    });
  }

  it('attaches the NAT hook when nf_nat is loaded after the agent started', async ({ skip }) => {
    const [first, probe] = await start();
    const canHook = strategyOf(probe, 'tcp_v4_connect') !== 'unavailable';
    await probe.stop();
    first.destroy();
    if (!canHook) skip('neither fexit nor kprobes attach on this kernel');
    // nf_nat goes when nothing uses it: the NAT chains of earlier tests are gone with their namespaces.
    spawnSync('modprobe', ['-r', 'nft_chain_nat', 'nft_nat', 'nf_nat'], { stdio: 'ignore' });
    if (fs.existsSync('/sys/module/nf_nat')) skip('nf_nat is in use on this machine and cannot be unloaded');

    const [p, late] = await start();
    expect(late.stderr).toMatch(/function hook waits for its module function=nf_nat_inet_fn /);
    natDropChain(p); // loads nf_nat
    const deadline = Date.now() + 60_000;
    while (!/function hook attached function=nf_nat_inet_fn /.test(late.stderr)) {
      if (Date.now() > deadline) throw new Error(`nf_nat_inet_fn never attached:\n${late.stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await expectNatDrops(p, late);
  });

  /** The namespace's conntrack insert_failed counter: /proc/net/stat/nf_conntrack, summed over CPUs. */
  function insertFailed(p: NetnsPair, ns: string): number {
    const [header, ...rows] = p.exec(ns, 'cat', ['/proc/net/stat/nf_conntrack']).trim().split('\n');
    const column = header!.trim().split(/\s+/).indexOf('insert_failed');
    return rows.reduce((sum, row) => sum + parseInt(row.trim().split(/\s+/)[column]!, 16), 0);
  }

  it('reports a conntrack confirm drop (a NAT tuple clash) as CONNTRACK_ADD_DROP, counted once', async ({ skip }) => {
    // Every new flow to B:9 is source-NATed to one fixed address and port, so the second
    // and later flows get the reply tuple of the first, and conntrack refuses to confirm
    // them: their SYN is dropped at confirmation, which counts it in insert_failed.
    const [pair, agent] = await start('ipv4', (p) => {
      const rules = [
        'add table ip drct',
        'add chain ip drct post { type nat hook postrouting priority 100 ; }',
        `add rule ip drct post ip daddr ${p.addrB} tcp dport 9 ct state new snat to ${p.addrA}:40000`,
      ];
      for (const r of rules) p.exec(p.a, 'nft', [r]);
      // B never answers, so the first flow stays in SYN_SENT and holds the tuple.
      p.exec(p.b, 'iptables', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP']);
    });
    if (strategyOf(agent, '__nf_conntrack_confirm') === 'unavailable') {
      skip('__nf_conntrack_confirm: neither fexit nor kprobes attach on this kernel');
    }
    pair.exec(pair.a, process.execPath, [SEND, 'syn', pair.addrB, '9', '1', '100']);
    const before = insertFailed(pair, pair.a);
    pair.exec(pair.a, process.execPath, [SEND, 'syn', pair.addrB, '9', String(N), '300']);
    expect(insertFailed(pair, pair.a) - before).toBe(N);

    const labels = { reason: 'CONNTRACK_ADD_DROP', direction: 'egress' };
    expect(await agent.settle(COUNT, labels, N)).toBe(N);
    expect(await agent.value(COUNT, { reason: 'IPTABLE_RULE_DROP', direction: 'egress' })).toBe(0);
    expect(await agent.value(COUNT, { reason: 'IPTABLE_NAT_DROP', direction: 'egress' })).toBe(0);
  });

  it('still counts a filter-table drop as IPTABLE_RULE_DROP with the NAT hook attached', async () => {
    const [pair, agent] = await start('ipv4', (p) => {
      p.exec(p.a, 'nft', ['add table ip drnat']);
      p.exec(p.a, 'nft', ['add chain ip drnat out { type nat hook output priority -100 ; }']);
      dropUdpRule(p, 'OUTPUT', 9);
    });
    pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(N), '32']);
    const rule = ruleCounters(pair, pair.a, 'OUTPUT');
    expect(rule.packets).toBe(N);
    expect(await agent.settle(COUNT, { reason: 'IPTABLE_RULE_DROP', direction: 'egress' }, N)).toBe(N);
    expect(await agent.value(COUNT, { reason: 'IPTABLE_NAT_DROP', direction: 'egress' })).toBe(0);
  });

  for (const [family, strategy] of [
    ['ipv4', 'auto'],
    ['ipv6', 'auto'],
    ['ipv4', 'kprobe'],
  ] as const) {
    it(`counts a connect to an unreachable network as TCP_CONNECT_BASIC with its errno (${family}, ${strategy})`, async ({
      skip,
    }) => {
      const [pair, agent] = await start(family, undefined, strategy);
      const fn = family === 'ipv4' ? 'tcp_v4_connect' : 'tcp_v6_connect';
      if (strategyOf(agent, fn) === 'unavailable') skip(`${fn}: neither fexit nor kprobes attach on this kernel`);
      // An address in the test ranges that the namespace has no route to: the kernel refuses at once.
      const unreachable = family === 'ipv4' ? '198.19.255.1' : '2001:db8:ffff::1';
      const out = JSON.parse(pair.exec(pair.a, process.execPath, [SEND, 'tcp', unreachable, '80', String(N)])) as {
        outcomes: Record<string, number>;
      };
      expect(out.outcomes).toEqual({ ENETUNREACH: N });
      const labels = { reason: 'TCP_CONNECT_BASIC', direction: 'egress', error: 'ENETUNREACH' };
      expect(await agent.settle(COUNT, labels, N)).toBe(N);
    });
  }

  it('counts a failed accept as TCP_ACCEPT_BASIC, and not EAGAIN from a non-blocking accept', async ({ skip }) => {
    const [pair, agent] = await start();
    if (strategyOf(agent, 'inet_csk_accept') === 'unavailable')
      skip('inet_csk_accept: neither fexit nor kprobes attach');
    const eagain = JSON.parse(pair.exec(pair.a, acceptFail, ['eagain', String(N)])) as {
      errors: Record<string, number>;
    };
    expect(eagain.errors['EAGAIN']).toBe(N);
    const einval = JSON.parse(pair.exec(pair.a, acceptFail, ['einval', String(N)])) as {
      errors: Record<string, number>;
    };
    expect(einval.errors['EINVAL']).toBe(N);

    expect(await agent.settle(COUNT, { reason: 'TCP_ACCEPT_BASIC', direction: 'ingress', error: 'EINVAL' }, N)).toBe(N);
    const accepts = [...(await agent.scrape()).keys()].filter((k) => k.includes('TCP_ACCEPT_BASIC'));
    expect(accepts.filter((k) => k.includes('EAGAIN'))).toEqual([]);
  });

  it('reports every hook, attached or unavailable, in its log and its own metrics', async () => {
    const [, agent] = await start();
    for (const fn of [
      'nf_nat_inet_fn',
      '__nf_conntrack_confirm',
      'tcp_v4_connect',
      'tcp_v6_connect',
      'inet_csk_accept',
    ]) {
      expect(['fexit', 'kprobe', 'unavailable']).toContain(strategyOf(agent, fn));
    }
  });
});
