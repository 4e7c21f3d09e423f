import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadBinding, packageRoot } from '../../../../src/native/binding.js';
import { type EnumMembers, ReasonNames } from '../../../../src/receiver/dropreason/reasons.js';

const KERNEL = 0;
const HOOK = 1;

/** enum skb_drop_reason as a newer kernel's BTF lists it (values as in 6.18). */
const NEWER: EnumMembers = [
  ['SKB_NOT_DROPPED_YET', 0],
  ['SKB_CONSUMED', 1],
  ['SKB_DROP_REASON_NOT_SPECIFIED', 2],
  ['SKB_DROP_REASON_NO_SOCKET', 3],
  ['SKB_DROP_REASON_SOCKET_CLOSE', 4],
  ['SKB_DROP_REASON_SOCKET_FILTER', 5],
  ['SKB_DROP_REASON_SOCKET_RCVBUFF', 6],
  ['SKB_DROP_REASON_UNIX_DISCONNECT', 7],
  ['SKB_DROP_REASON_UNIX_SKIP_OOB', 8],
  ['SKB_DROP_REASON_PKT_TOO_SMALL', 9],
  ['SKB_DROP_REASON_TCP_CSUM', 10],
  ['SKB_DROP_REASON_UDP_CSUM', 11],
  ['SKB_DROP_REASON_NETFILTER_DROP', 12],
  ['SKB_DROP_REASON_OTHERHOST', 13],
  ['SKB_DROP_REASON_TCP_CLOSE', 47],
  ['SKB_DROP_REASON_MAX', 128],
  ['SKB_DROP_REASON_SUBSYS_MASK', 0xffff0000],
];

/** The same enum on an older kernel: fewer members before NETFILTER_DROP, so values differ. */
const OLDER: EnumMembers = [
  ['SKB_NOT_DROPPED_YET', 0],
  ['SKB_CONSUMED', 1],
  ['SKB_DROP_REASON_NOT_SPECIFIED', 2],
  ['SKB_DROP_REASON_NO_SOCKET', 3],
  ['SKB_DROP_REASON_PKT_TOO_SMALL', 4],
  ['SKB_DROP_REASON_TCP_CSUM', 5],
  ['SKB_DROP_REASON_SOCKET_FILTER', 6],
  ['SKB_DROP_REASON_UDP_CSUM', 7],
  ['SKB_DROP_REASON_NETFILTER_DROP', 8],
  ['SKB_DROP_REASON_OTHERHOST', 9],
  ['SKB_DROP_REASON_TCP_CLOSE', 26],
  ['SKB_DROP_REASON_MAX', 60],
];

const SUBSYSTEMS: EnumMembers = [
  ['SKB_DROP_REASON_SUBSYS_CORE', 0],
  ['SKB_DROP_REASON_SUBSYS_MAC80211_UNUSABLE', 1],
  ['SKB_DROP_REASON_SUBSYS_OPENVSWITCH', 2],
  ['SKB_DROP_REASON_SUBSYS_NUM', 3],
];

/** The hook reasons and the overflow bucket: names on every kernel. */
const ON_EVERY_KERNEL = ['IPTABLE_NAT_DROP', 'CONNTRACK_ADD_DROP', 'TCP_CONNECT_BASIC', 'TCP_ACCEPT_BASIC', 'OTHER'];

const subsys = (id: number, code: number) => ((id << 16) | code) >>> 0;

describe('ReasonNames: kernel reasons', () => {
  const names = new ReasonNames(NEWER);

  it('drops the SKB_DROP_REASON_ prefix', () => {
    expect(names.name(KERNEL, 3)).toBe('NO_SOCKET');
    expect(names.name(KERNEL, 6)).toBe('SOCKET_RCVBUFF');
    expect(names.name(KERNEL, 13)).toBe('OTHERHOST');
  });

  it("uses Retina's names where Retina has one", () => {
    expect(names.name(KERNEL, 12)).toBe('IPTABLE_RULE_DROP');
    expect(names.name(KERNEL, 47)).toBe('TCP_CLOSE_BASIC');
    expect(names.name(KERNEL, 2)).toBe('UNKNOWN_DROP');
  });

  it('gives codes it does not know, and the non-reasons, a numbered name', () => {
    expect(names.name(KERNEL, 0)).toBe('REASON_0');
    expect(names.name(KERNEL, 1)).toBe('REASON_1');
    expect(names.name(KERNEL, 128)).toBe('REASON_128');
    expect(names.name(KERNEL, 500)).toBe('REASON_500');
  });

  it('follows the running kernel when values shift between versions', () => {
    const older = new ReasonNames(OLDER);
    expect(older.name(KERNEL, 8)).toBe('IPTABLE_RULE_DROP');
    expect(names.name(KERNEL, 8)).toBe('UNIX_SKIP_OOB');
    expect(older.name(KERNEL, 12)).toBe('REASON_12');
    expect(names.name(KERNEL, 12)).toBe('IPTABLE_RULE_DROP');
    expect(older.name(KERNEL, 26)).toBe('TCP_CLOSE_BASIC');
    expect(names.name(KERNEL, 47)).toBe('TCP_CLOSE_BASIC');
    expect(older.name(KERNEL, 6)).toBe('SOCKET_FILTER');
    expect(names.name(KERNEL, 6)).toBe('SOCKET_RCVBUFF');
  });

  it('lists every name a config may exclude, and no kernel-only spelling', () => {
    expect([...new ReasonNames(OLDER).known()].sort()).toEqual(
      [
        'UNKNOWN_DROP',
        'NO_SOCKET',
        'PKT_TOO_SMALL',
        'TCP_CSUM',
        'SOCKET_FILTER',
        'UDP_CSUM',
        'IPTABLE_RULE_DROP',
        'OTHERHOST',
        'TCP_CLOSE_BASIC',
        ...ON_EVERY_KERNEL,
      ].sort(),
    );
    const known = names.known();
    for (const absent of ['NETFILTER_DROP', 'TCP_CLOSE', 'NOT_SPECIFIED', 'MAX', 'SUBSYS_MASK', 'CONSUMED']) {
      expect(known.has(absent), absent).toBe(false);
    }
  });
});

describe('ReasonNames: subsystem reasons', () => {
  it('names the subsystem from its enum and keeps the code', () => {
    const names = new ReasonNames(NEWER, SUBSYSTEMS);
    expect(names.name(KERNEL, subsys(2, 3))).toBe('OPENVSWITCH:3');
    expect(names.name(KERNEL, subsys(1, 1))).toBe('MAC80211_UNUSABLE:1');
    expect(names.name(KERNEL, subsys(7, 4))).toBe('SUBSYS_7:4');
    expect(names.name(KERNEL, subsys(3, 0))).toBe('SUBSYS_3:0');
  });

  it('numbers the subsystem without its enum', () => {
    const names = new ReasonNames(NEWER);
    expect(names.name(KERNEL, subsys(2, 3))).toBe('SUBSYS_2:3');
    expect(names.name(KERNEL, 0xffff0000)).toBe('SUBSYS_65535:0');
  });

  it('reads core reasons (subsystem 0) from the main enum', () => {
    expect(new ReasonNames(NEWER, SUBSYSTEMS).name(KERNEL, 3)).toBe('NO_SOCKET');
  });
});

describe('ReasonNames: hook reasons', () => {
  it('names enum hook_reason from bpf/dropreason.h, whatever the kernel enum says', () => {
    const names = new ReasonNames(NEWER);
    expect([1, 2, 3, 4, 5].map((code) => names.name(HOOK, code))).toEqual([
      'IPTABLE_RULE_DROP',
      'IPTABLE_NAT_DROP',
      'CONNTRACK_ADD_DROP',
      'TCP_CONNECT_BASIC',
      'TCP_ACCEPT_BASIC',
    ]);
    expect(names.name(HOOK, 12)).toBe('HOOK_12');
    expect(names.name(HOOK, 0)).toBe('HOOK_0');
  });
});

describe('ReasonNames: a kernel without enum skb_drop_reason', () => {
  it('reads the tracepoint code 2 as UNKNOWN_DROP and numbers the rest', () => {
    const names = new ReasonNames(null);
    expect(names.name(KERNEL, 2)).toBe('UNKNOWN_DROP');
    expect(names.name(KERNEL, 3)).toBe('REASON_3');
    expect(names.name(HOOK, 1)).toBe('IPTABLE_RULE_DROP');
    expect([...names.known()].sort()).toEqual(['UNKNOWN_DROP', 'IPTABLE_RULE_DROP', ...ON_EVERY_KERNEL].sort());
  });
});

// The running kernel: its BTF enum, read by the native addon, against the names the
// kfree_skb tracepoint prints (tracefs), which the kernel derives from the same enum.
const VMLINUX = '/sys/kernel/btf/vmlinux';
const ADDON = path.join(packageRoot, 'build/Release/bpf_addon.node');
const TRACEPOINT_FORMAT = '/sys/kernel/tracing/events/skb/kfree_skb/format';

const noBtf = !fs.existsSync(VMLINUX)
  ? `${VMLINUX} does not exist`
  : !fs.existsSync(ADDON)
    ? `the native addon is not built (${ADDON})`
    : undefined;

function readFormat(): { text?: string; why?: string } {
  try {
    return { text: fs.readFileSync(TRACEPOINT_FORMAT, 'utf8') };
  } catch (err) {
    return { why: `${TRACEPOINT_FORMAT} is not readable (${(err as NodeJS.ErrnoException).code})` };
  }
}
const format = noBtf ? { why: noBtf } : readFormat();

if (noBtf) console.log(`skipping the running-kernel reason tests: ${noBtf}`);
else if (format.why) console.log(`skipping the tracepoint comparison: ${format.why}`);

describe('ReasonNames on the running kernel', () => {
  it.skipIf(noBtf !== undefined)('names every member of the BTF enum', async () => {
    const members = await loadBinding().readBtfEnum('skb_drop_reason');
    expect(members, 'this kernel has BTF but no enum skb_drop_reason').not.toBeNull();
    const names = new ReasonNames(members);
    const byName = new Map(members!);
    expect(byName.get('SKB_DROP_REASON_NOT_SPECIFIED')).toBe(2);
    expect(names.name(KERNEL, byName.get('SKB_DROP_REASON_NOT_SPECIFIED')!)).toBe('UNKNOWN_DROP');
    expect(names.name(KERNEL, byName.get('SKB_DROP_REASON_NO_SOCKET')!)).toBe('NO_SOCKET');
    expect(names.name(KERNEL, byName.get('SKB_DROP_REASON_NETFILTER_DROP')!)).toBe('IPTABLE_RULE_DROP');
    for (const [member, value] of members!) {
      if (!member.startsWith('SKB_DROP_REASON_') || member === 'SKB_DROP_REASON_MAX') continue;
      if (member.startsWith('SKB_DROP_REASON_SUBSYS_')) continue;
      expect(names.name(KERNEL, value), member).not.toMatch(/^REASON_/);
    }
  });

  it.skipIf(format.text === undefined)("matches the kfree_skb tracepoint's __print_symbolic list", async () => {
    const printed = new Map<number, string>();
    const list = /__print_symbolic\(REC->reason,(.*)\)/s.exec(format.text!)?.[1] ?? '';
    for (const m of list.matchAll(/\{\s*(\d+),\s*"([A-Z0-9_]+)"\s*\}/g)) printed.set(Number(m[1]), m[2]!);
    printed.delete([...printed].find(([, n]) => n === 'MAX')?.[0] ?? -1);
    expect(printed.size, 'no reasons found in the tracepoint format').toBeGreaterThan(10);

    const members = (await loadBinding().readBtfEnum('skb_drop_reason'))!;
    const names = new ReasonNames(members);
    const retina: Record<string, string> = {
      NETFILTER_DROP: 'IPTABLE_RULE_DROP',
      TCP_CLOSE: 'TCP_CLOSE_BASIC',
      NOT_SPECIFIED: 'UNKNOWN_DROP',
    };
    for (const [value, kernelName] of printed) {
      expect(names.name(KERNEL, value), `reason ${value} (${kernelName})`).toBe(retina[kernelName] ?? kernelName);
    }
    // And the BTF enum holds no reason the tracepoint does not print.
    const fromBtf = members
      .filter(([m]) => m.startsWith('SKB_DROP_REASON_') && !m.startsWith('SKB_DROP_REASON_SUBSYS_'))
      .filter(([m]) => m !== 'SKB_DROP_REASON_MAX')
      .map(([m, v]) => [v, m.slice('SKB_DROP_REASON_'.length)] as const);
    expect(new Map(fromBtf)).toEqual(printed);
  });
});
