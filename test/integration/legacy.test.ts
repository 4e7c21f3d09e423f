/**
 * Kernels before 5.17, whose skb:kfree_skb tracepoint gives no reason: netfilter drops are
 * told apart by the nf_hook_slow hook, everything else reads UNKNOWN_DROP. Runs on such a
 * kernel under the QEMU matrix (`bash test/kernels/run.sh 5.10`); on newer kernels it
 * skips with the reason.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { Agent, basicConfig, freePort, isRoot } from './harness/agent.js';
import { dropUdpRule, NetnsPair, ruleCounters, udpNoPorts } from './harness/topology.js';

const SEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/send.mjs');
const COUNT = 'dropreason_drop_count_total';
const N = 31;

const [major = 0, minor = 0] = os.release().split('.').map(Number);
const hasReasons = major > 5 || (major === 5 && minor >= 17);

if (!isRoot) console.log('skipping kernel-without-reasons tests: they need root');
else if (hasReasons) {
  console.log(`skipping kernel-without-reasons tests: ${os.release()} gives drop reasons (5.17+)`);
}

// Both counting programs: each reads "no reason" and the protocol its own way.
describe.skipIf(!isRoot || hasReasons).each(['tp_btf', 'tracepoint'] as const)(
  'a kernel without drop reasons (%s)',
  (hook) => {
    async function start(): Promise<[NetnsPair, Agent]> {
      const pair = NetnsPair.forTest('legacy', 'ipv4');
      const port = await freePort();
      const agent = await Agent.startForTest(basicConfig(port, { netns: pair.netnsPath(pair.a), hook }), port);
      expect(agent.stderr).toContain(`counting kernel drops hook=${hook}/`);
      return [pair, agent];
    }

    it('counts an iptables OUTPUT DROP as IPTABLE_RULE_DROP through nf_hook_slow', async ({ skip }) => {
      const [p, a] = await start();
      const line = a.stderr.split('\n').find((l) => l.includes('function=nf_hook_slow '));
      if (!line?.includes('function hook attached'))
        skip(`nf_hook_slow: no strategy attaches (${line ?? 'nothing logged'})`);
      dropUdpRule(p, 'OUTPUT', 9);
      p.exec(p.a, process.execPath, [SEND, 'udp', p.addrB, '9', String(N), '32']);
      const rule = ruleCounters(p, p.a, 'OUTPUT');
      expect(rule.packets).toBe(N);
      expect(await a.settle(COUNT, { reason: 'IPTABLE_RULE_DROP', direction: 'egress' }, N)).toBe(N);
      // Counted once, and nothing else: iptables' netlink requests in the namespace, which
      // these kernels free through kfree_skb too, are not packets.
      expect(await a.value(COUNT, { reason: 'UNKNOWN_DROP', direction: 'egress' })).toBe(0);
    });

    it('counts other drops as UNKNOWN_DROP: UDP to a closed port, equal to NoPorts', async () => {
      const [p, a] = await start();
      const before = udpNoPorts(p, p.a);
      // From B to a closed port on A: A, the namespace counted, drops them on the way in.
      p.exec(p.b, process.execPath, [SEND, 'udp', p.addrA, '9', String(N), '32']);
      const noPorts = udpNoPorts(p, p.a) - before;
      expect(noPorts).toBe(N);
      expect(await a.settle(COUNT, { reason: 'UNKNOWN_DROP', direction: 'ingress' }, N)).toBe(N);
    });
  },
);
