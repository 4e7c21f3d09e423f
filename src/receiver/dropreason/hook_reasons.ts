/**
 * Our own reasons, for drops a function hook sees: `enum hook_reason` in bpf/dropreason.h,
 * the kernel functions that report each, and how each is counted. The one table in
 * TypeScript; the reason names, the function hooks and the errno handling derive from it,
 * and a unit test checks it against the header.
 */
/** How a function is hooked: fexit where the kernel allows it, else kprobe and kretprobe. */
export type HookStrategy = 'fexit' | 'kprobe';

/** A kernel function hooked to report a reason. */
export interface HookedFunction {
  fn: string;
  /** The BPF programs that hook it, by strategy (bpf/dropreason.bpf.c). */
  programs: Record<HookStrategy, string[]>;
  /** Only on kernels whose kfree_skb tracepoint gives no reason (before 5.17). */
  onlyWithoutReasons?: boolean;
  /** The module that holds the function when netfilter is built as modules. */
  module?: string;
}

export interface HookReason {
  /** The value in enum hook_reason. */
  code: number;
  /** The reason's name, also the enum member without its HOOK_ prefix. */
  name: string;
  /**
   * How the hook counts: `refines` names a drop kfree_skb counts anyway (a netfilter drop,
   * counted once, under this reason instead of the kernel's); `socket error` counts a failed
   * call that frees no skb, and its return value is an errno, kept as the drop's error.
   */
  counts: 'refines' | 'socket error';
  hooks: readonly HookedFunction[];
}

export const HOOK_REASONS: readonly HookReason[] = [
  {
    code: 1,
    name: 'IPTABLE_RULE_DROP',
    counts: 'refines',
    hooks: [
      {
        fn: 'nf_hook_slow',
        programs: {
          fexit: ['dr_nf_hook_fentry', 'dr_nf_hook_fexit'],
          kprobe: ['dr_nf_hook_kprobe', 'dr_nf_hook_kretprobe'],
        },
        onlyWithoutReasons: true,
      },
    ],
  },
  {
    code: 2,
    name: 'IPTABLE_NAT_DROP',
    counts: 'refines',
    hooks: [
      {
        fn: 'nf_nat_inet_fn',
        programs: { fexit: ['dr_nat_fentry', 'dr_nat_fexit'], kprobe: ['dr_nat_kprobe', 'dr_nat_kretprobe'] },
        module: 'nf_nat',
      },
    ],
  },
  {
    code: 3,
    name: 'CONNTRACK_ADD_DROP',
    counts: 'refines',
    hooks: [
      {
        fn: '__nf_conntrack_confirm',
        programs: {
          fexit: ['dr_ct_confirm_fentry', 'dr_ct_confirm_fexit'],
          kprobe: ['dr_ct_confirm_kprobe', 'dr_ct_confirm_kretprobe'],
        },
        module: 'nf_conntrack',
      },
    ],
  },
  {
    code: 4,
    name: 'TCP_CONNECT_BASIC',
    counts: 'socket error',
    hooks: [
      {
        fn: 'tcp_v4_connect',
        programs: { fexit: ['dr_connect4_fexit'], kprobe: ['dr_connect4_kprobe', 'dr_connect4_kretprobe'] },
      },
      {
        fn: 'tcp_v6_connect',
        programs: { fexit: ['dr_connect6_fexit'], kprobe: ['dr_connect6_kprobe', 'dr_connect6_kretprobe'] },
      },
    ],
  },
  {
    code: 5,
    name: 'TCP_ACCEPT_BASIC',
    counts: 'socket error',
    hooks: [
      {
        fn: 'inet_csk_accept',
        programs: { fexit: ['dr_accept_fexit'], kprobe: ['dr_accept_kprobe', 'dr_accept_kretprobe'] },
      },
    ],
  },
];

const BY_CODE = new Map(HOOK_REASONS.map((r) => [r.code, r]));

export function hookReason(code: number): HookReason | undefined {
  return BY_CODE.get(code);
}
