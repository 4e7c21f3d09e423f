import {
  boolean,
  checked,
  duration,
  integer,
  join,
  list,
  object,
  oneOf,
  optional,
  string,
  type Parsed,
  type Schema,
} from '../../service/schema.js';

/** A regular expression (JavaScript syntax) that must match a whole interface name. */
function namePattern(): Schema<string> {
  return checked(string({ nonEmpty: true }), (p, path, issues) => {
    try {
      new RegExp(`^(?:${p})$`);
    } catch (err) {
      const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '');
      issues.push({ path, message: `must be a regular expression (${why}), but was ${JSON.stringify(p)}` });
    }
  });
}

const interfaceFields = {
  /**
   * Report the kernel's per-interface drop counters as system.network.packet.dropped.
   * @default true
   */
  enabled: boolean({
    default: true,
    description: "Report the kernel's per-interface drop counters (system.network.packet.dropped).",
  }),
  /** Interface names to report, as regular expressions matching the whole name; empty: all. */
  include: list(namePattern(), {
    default: [],
    maxItems: 1024,
    description: 'Report only interfaces whose name matches one of these regular expressions (whole name); empty: all.',
  }),
  /** Interface names not to report, as regular expressions matching the whole name. */
  exclude: list(namePattern(), {
    default: [],
    maxItems: 1024,
    description: 'Do not report interfaces whose name matches one of these regular expressions (whole name).',
  }),
  /**
   * Where the host's root filesystem is mounted, for an agent outside the host's network
   * namespace: ROOT/sys/class/net is read instead of /sys/class/net, so a pod without
   * hostNetwork that mounts the host's /sys at ROOT/sys reads the node's interfaces.
   */
  root_path: optional(
    string({
      nonEmpty: true,
      description:
        "Read ROOT/sys/class/net instead of /sys/class/net: with the host's /sys mounted at ROOT/sys, a pod without hostNetwork reads the node's interfaces.",
    }),
  ),
};

/**
 * The most samples a second: the ring buffer (256 KiB, 88 bytes a sample) holds a few
 * seconds of them at this rate if user space falls behind.
 */
export const MAX_SAMPLES_PER_SECOND = 1000;

const fields = {
  /**
   * `basic`: node-level counts by reason and direction. `advanced`: also per local address
   * (per pod, with the k8sattributes processor), aggregated in the kernel per flow.
   * @default basic
   */
  mode: oneOf(['basic', 'advanced'] as const, {
    default: 'basic',
    description:
      'basic: counts by reason and direction; advanced: also per local address (pod), per flow in the kernel.',
  }),
  /** Advanced mode: which attributes of the remote end each pod series carries. */
  peer_attributes: list(oneOf(['address', 'port', 'transport'] as const), {
    default: ['address', 'transport'] as Array<'address' | 'port' | 'transport'>,
    description:
      'Advanced mode: remote-end attributes on pod series (address, port, transport); port multiplies series.',
  }),
  /**
   * Advanced mode: a pod series that has not grown for this long is no longer reported.
   * @default 15m
   */
  pod_series_ttl: duration({
    default: 15 * 60_000,
    minMs: 1000,
    description: 'Advanced mode: pod series that have not grown for this long are no longer reported.',
  }),
  /**
   * How often the drop maps are read and metrics pushed down the pipeline.
   * @default 10s
   */
  collection_interval: duration({
    default: 10_000,
    minMs: 100,
    description: 'How often the kernel drop map is read and metrics are pushed to the pipeline.',
  }),
  /** Reason names (as reported) whose drops are not reported. */
  exclude_reasons: list(string({ nonEmpty: true }), {
    default: [],
    maxItems: 1024,
    description: 'Reasons not to report, by name as reported (e.g. NO_SOCKET, IPTABLE_RULE_DROP).',
  }),
  /**
   * Where to count: `tp_btf` (BTF-enabled tracepoint), `tracepoint` (classic, needs tracefs),
   * or `auto` (tp_btf, falling back to the classic tracepoint).
   * @default auto
   */
  hook: oneOf(['auto', 'tp_btf', 'tracepoint'] as const, {
    default: 'auto',
    description: 'Attach to skb:kfree_skb as tp_btf, as a classic tracepoint, or auto (tp_btf, else tracepoint).',
  }),
  /**
   * How to attach the function hooks for Retina's reasons (NAT and conntrack drops,
   * connect and accept failures): `auto` tries fexit then kprobes; `none` skips them.
   * @default auto
   */
  function_hooks: oneOf(['auto', 'fexit', 'kprobe', 'none'] as const, {
    default: 'auto',
    description:
      "Function hooks for Retina's reasons (NAT, conntrack, connect, accept): auto tries fexit then kprobes; none skips them.",
  }),
  /** BTF file for CO-RE on kernels without /sys/kernel/btf/vmlinux. */
  btf_path: optional(
    string({ nonEmpty: true, description: 'BTF file to use when the kernel has no /sys/kernel/btf/vmlinux.' }),
  ),
  /**
   * Per-interface drop counters of the agent's network namespace (NIC, driver and queue
   * drops that kfree_skb does not see), read from /sys/class/net each collection.
   */
  interfaces: object(interfaceFields, {
    description:
      "Per-interface drop counters of the agent's network namespace, read from /sys/class/net/*/statistics at each collection.",
  }),
  /** Only count drops in one network namespace, given as a path such as /run/netns/NAME. */
  netns: optional(
    string({
      nonEmpty: true,
      description: 'Count only drops in this network namespace (a path such as /run/netns/NAME or /proc/PID/ns/net).',
    }),
  ),
  /**
   * Count each drop by its location too: the kernel function that freed the packet
   * (skb:kfree_skb's location argument), as attribute `location` on the drop metrics.
   * It costs the kernel program no measurable time per drop (docs/BENCHMARKS.md), and a
   * new location is named by the kernel's symbol table in microseconds (symbol_program.ts;
   * from /proc/kallsyms before Linux 5.13); false leaves it out in the kernel.
   * @default true
   */
  location: boolean({
    default: true,
    description:
      'Add the kernel function that freed each dropped packet as attribute location; false leaves it out in the kernel.',
  }),
  /**
   * Samples of dropped packets sent down logs pipelines, one log record each: at most this
   * many per second, decided in the kernel. 0 takes none. Only used when the receiver is
   * in a logs pipeline.
   * @default 10
   */
  samples_per_second: integer({
    default: 10,
    min: 0,
    max: MAX_SAMPLES_PER_SECOND,
    description:
      'Logs pipelines: at most this many samples of dropped packets per second (one log record each), decided in the kernel; 0 takes none.',
  }),
  /**
   * At most this many of the samples of one second have the same reason, so that a storm
   * of one reason leaves room for the others. Half of samples_per_second (rounded up)
   * when not given.
   */
  samples_per_reason_per_second: optional(
    integer({
      min: 1,
      max: MAX_SAMPLES_PER_SECOND,
      description:
        'At most this many samples per second of any one reason, so one storm leaves room for the others; default: half of samples_per_second, rounded up.',
    }),
  ),
};

export const configSchema = checked(
  object(fields, { description: 'Counts kernel packet drops by reason and direction.' }),
  (c, path, issues) => {
    const perReason = c.samples_per_reason_per_second;
    if (perReason !== undefined && perReason > c.samples_per_second) {
      issues.push({
        path: join(path, 'samples_per_reason_per_second'),
        message: `must be at most samples_per_second (${c.samples_per_second}), but was ${perReason}`,
      });
    }
  },
);
export type DropReasonConfig = Parsed<typeof fields>;

/** The per-reason limit of samples a second: as given, else half of samples_per_second, rounded up. */
export function samplesPerReason(
  c: Pick<DropReasonConfig, 'samples_per_second' | 'samples_per_reason_per_second'>,
): number {
  return c.samples_per_reason_per_second ?? Math.ceil(c.samples_per_second / 2);
}
