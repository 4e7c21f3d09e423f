/**
 * Test hosts: two network namespaces joined by a veth pair, with IPv4 addresses from
 * 198.18.0.0/15 (the benchmarking range) or IPv6 ones from 2001:db8::/32 (documentation),
 * nothing routed outside. destroy() removes everything.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { onTestFinished } from 'vitest';

let counter = 0;

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'send.mjs');

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export type Family = 'ipv4' | 'ipv6';

export class NetnsPair {
  readonly a: string;
  readonly b: string;
  readonly addrA: string;
  readonly addrB: string;
  private readonly vethA: string;
  private readonly vethB: string;

  constructor(
    tag: string,
    readonly family: Family = 'ipv4',
  ) {
    // Each pair its own /30 of 198.18.0.0/16 or /64 of 2001:db8::/32, chosen from the pid so
    // that test files running side by side (each agent counts drops node-wide) do not share
    // addresses. The IPv6 group is never 0: the agent writes a zero group as "::", and a test
    // spelling it "0" would look for a series that does not exist.
    const slot = 1 + ((process.pid * 8 + counter++) % 16383);
    this.a = `dr-${tag}-${process.pid}-${counter}-a`;
    this.b = `dr-${tag}-${process.pid}-${counter}-b`;
    this.vethA = `drva${process.pid % 10000}${counter}`.slice(0, 15);
    this.vethB = `drvb${process.pid % 10000}${counter}`.slice(0, 15);
    const [net, host] = [slot >> 6, (slot & 63) * 4];
    this.addrA = family === 'ipv4' ? `198.18.${net}.${host + 1}` : `2001:db8:${slot.toString(16)}::1`;
    this.addrB = family === 'ipv4' ? `198.18.${net}.${host + 2}` : `2001:db8:${slot.toString(16)}::2`;
  }

  /** iptables or ip6tables, for this pair's family. */
  get iptables(): string {
    return this.family === 'ipv4' ? 'iptables' : 'ip6tables';
  }

  /** A pair made inside a test, removed when the test finishes, passed or failed. */
  static forTest(tag: string, family: Family = 'ipv4'): NetnsPair {
    const pair = new NetnsPair(tag, family);
    onTestFinished(() => pair.destroy());
    return pair.create();
  }

  create(): this {
    sh('ip', ['netns', 'add', this.a]);
    sh('ip', ['netns', 'add', this.b]);
    sh('ip', ['link', 'add', this.vethA, 'netns', this.a, 'type', 'veth', 'peer', 'name', this.vethB, 'netns', this.b]);
    for (const [ns, dev, addr] of [
      [this.a, this.vethA, this.addrA],
      [this.b, this.vethB, this.addrB],
    ] as const) {
      if (this.family === 'ipv4') {
        // IPv6 off, so its neighbour discovery and router solicitations play no part.
        this.exec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
        this.exec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
      } else {
        for (const key of ['accept_ra=0', 'router_solicitations=0', 'accept_dad=0', 'dad_transmits=0']) {
          this.exec(ns, 'sysctl', ['-qw', `net.ipv6.conf.all.${key}`]);
          this.exec(ns, 'sysctl', ['-qw', `net.ipv6.conf.default.${key}`]);
        }
      }
      this.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
      if (this.family === 'ipv4') this.exec(ns, 'ip', ['addr', 'add', `${addr}/30`, 'dev', dev]);
      else this.exec(ns, 'ip', ['-6', 'addr', 'add', `${addr}/64`, 'dev', dev, 'nodad']);
      this.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    }
    // Permanent neighbour entries, so ARP and neighbour discovery play no part in what is sent and dropped.
    const macA = this.mac(this.a, this.vethA);
    const macB = this.mac(this.b, this.vethB);
    this.exec(this.a, 'ip', ['neigh', 'replace', this.addrB, 'lladdr', macB, 'dev', this.vethA, 'nud', 'permanent']);
    this.exec(this.b, 'ip', ['neigh', 'replace', this.addrA, 'lladdr', macA, 'dev', this.vethB, 'nud', 'permanent']);
    return this;
  }

  private mac(ns: string, dev: string): string {
    const [link] = JSON.parse(this.exec(ns, 'ip', ['-j', 'link', 'show', 'dev', dev])) as Array<{ address: string }>;
    return link!.address;
  }

  exec(ns: string, cmd: string, args: string[]): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  netnsPath(ns: string): string {
    return `/run/netns/${ns}`;
  }

  destroy(): void {
    for (const ns of [this.a, this.b]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Adds a rule dropping UDP to `port` between the pair: on OUTPUT in a, for packets to b, or
 * on INPUT in b, for packets from a (or to or from `peer`). ruleCounters reads back what it
 * dropped.
 */
export function dropUdpRule(pair: NetnsPair, chain: 'OUTPUT' | 'INPUT', port: number, peer?: string): void {
  const [ns, match] = chain === 'OUTPUT' ? [pair.a, ['-d', peer ?? pair.addrB]] : [pair.b, ['-s', peer ?? pair.addrA]];
  pair.exec(ns, pair.iptables, ['-w', '-A', chain, ...match, '-p', 'udp', '--dport', String(port), '-j', 'DROP']);
}

/**
 * Drops UDP both ways between the pair: `outgoing` datagrams from a to b's port 9 on a's
 * OUTPUT, `incoming` to port 10 on b's INPUT, 40 bytes each. Returns both rules' counters.
 */
export function dropUdpBothWays(pair: NetnsPair, outgoing: number, incoming: number): { out: Counters; inp: Counters } {
  dropUdpRule(pair, 'OUTPUT', 9);
  dropUdpRule(pair, 'INPUT', 10);
  pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '9', String(outgoing), '40']);
  pair.exec(pair.a, process.execPath, [SEND, 'udp', pair.addrB, '10', String(incoming), '40']);
  return { out: ruleCounters(pair, pair.a, 'OUTPUT'), inp: ruleCounters(pair, pair.b, 'INPUT') };
}

export interface Counters {
  packets: number;
  bytes: number;
}

/** The packet and byte counters of the first rule of a chain, as the kernel counts them. */
export function ruleCounters(pair: NetnsPair, ns: string, chain: string): Counters {
  const out = pair.exec(ns, pair.iptables, ['-w', '-L', chain, '-v', '-x', '-n']);
  const line = out.split('\n')[2];
  const m = line ? /^\s*(\d+)\s+(\d+)\s+DROP/.exec(line) : null;
  if (!m) throw new Error(`no DROP rule in ${ns} ${chain}:\n${out}`);
  return { packets: Number(m[1]), bytes: Number(m[2]) };
}

/** The UDP "no port" counter of the pair's family inside a namespace. */
export function udpNoPorts(pair: NetnsPair, ns: string): number {
  if (pair.family === 'ipv4') return snmpCounter(pair, ns, 'Udp', 'NoPorts');
  const m = /^Udp6NoPorts\s+(\d+)$/m.exec(pair.exec(ns, 'cat', ['/proc/net/snmp6']));
  if (!m) throw new Error('no Udp6NoPorts in /proc/net/snmp6');
  return Number(m[1]);
}

/** A counter from /proc/net/snmp inside a namespace, e.g. ('Udp', 'NoPorts'). */
export function snmpCounter(pair: NetnsPair, ns: string, group: string, field: string): number {
  const lines = pair
    .exec(ns, 'cat', ['/proc/net/snmp'])
    .split('\n')
    .filter((l) => l.startsWith(`${group}:`));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const i = names.indexOf(field);
  if (i < 0) throw new Error(`no ${group} ${field} in /proc/net/snmp`);
  return Number(values[i]);
}
