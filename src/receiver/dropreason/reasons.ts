/**
 * Reason names. Kernel reasons come from the running kernel's BTF (`enum skb_drop_reason`),
 * because their values shift between kernel versions; only Retina's renames are fixed here,
 * and our own hook reasons come from hook_reasons.ts.
 */
import { Origin } from './abi.js';
import { HOOK_REASONS, hookReason } from './hook_reasons.js';

const KERNEL_PREFIX = 'SKB_DROP_REASON_';
/** Members of enum skb_drop_reason that are not drop reasons. */
const NOT_REASONS = new Set(['SKB_NOT_DROPPED_YET', 'SKB_CONSUMED', 'SKB_DROP_REASON_MAX']);
/** Subsystem reasons carry the subsystem id in the high 16 bits (SKB_DROP_REASON_SUBSYS_SHIFT). */
const SUBSYS_SHIFT = 16;

/** Kernel names whose Retina name differs; Retina's dashboards query these. */
export const RETINA_RENAMES: Readonly<Record<string, string>> = {
  NETFILTER_DROP: 'IPTABLE_RULE_DROP',
  TCP_CLOSE: 'TCP_CLOSE_BASIC',
  NOT_SPECIFIED: 'UNKNOWN_DROP',
};

/** Drops that found the metrics map full: counted, but without their reason. */
export const OVERFLOW_REASON = 'OTHER';

export type EnumMembers = ReadonlyArray<readonly [string, number]>;

export class ReasonNames {
  private readonly kernel = new Map<number, string>();
  private readonly subsystems = new Map<number, string>();

  /**
   * @param reasons members of `enum skb_drop_reason`, or null on a kernel without it
   *   (before 5.17, every tracepoint drop is then UNKNOWN_DROP)
   * @param subsystems members of `enum skb_drop_reason_subsys`, if the kernel has it
   */
  constructor(reasons: EnumMembers | null, subsystems: EnumMembers | null = null) {
    for (const [name, value] of reasons ?? []) {
      if (NOT_REASONS.has(name) || !name.startsWith(KERNEL_PREFIX)) continue;
      const short = name.slice(KERNEL_PREFIX.length);
      if (short.startsWith('SUBSYS_')) continue;
      this.kernel.set(value, RETINA_RENAMES[short] ?? short);
    }
    for (const [name, value] of subsystems ?? []) {
      const prefix = 'SKB_DROP_REASON_SUBSYS_';
      if (!name.startsWith(prefix) || name === `${prefix}NUM` || value === 0) continue;
      this.subsystems.set(value, name.slice(prefix.length));
    }
    if (!reasons) this.kernel.set(2, 'UNKNOWN_DROP');
  }

  /** Every kernel reason name this kernel knows, for validating exclude lists. */
  known(): Set<string> {
    return new Set([...this.kernel.values(), ...HOOK_REASONS.map((r) => r.name), OVERFLOW_REASON]);
  }

  name(origin: number, code: number): string {
    if (origin === Origin.Hook) return hookReason(code)?.name ?? `HOOK_${code}`;
    const subsys = code >>> SUBSYS_SHIFT;
    if (subsys !== 0) {
      return `${this.subsystems.get(subsys) ?? `SUBSYS_${subsys}`}:${code & 0xffff}`;
    }
    return this.kernel.get(code) ?? `REASON_${code}`;
  }
}
