// Generated from metadata.yaml by scripts/gen-metadata.mjs (npm run build:gen); do not edit.
import type { ComponentMetadata } from '../../service/metadata.js';

export const DROP_COUNT = 'dropreason.drop.count';
export const DROP_BYTES = 'dropreason.drop.bytes';
export const POD_DROP_COUNT = 'dropreason.pod.drop.count';
export const POD_DROP_BYTES = 'dropreason.pod.drop.bytes';
export const SYSTEM_NETWORK_PACKET_DROPPED = 'system.network.packet.dropped';
export const AGENT_PROGRAM_ATTACHED = 'dropreason.agent.program.attached';
export const AGENT_HOOK_STATUS = 'dropreason.agent.hook.status';
export const AGENT_MAP_ENTRIES = 'dropreason.agent.map.entries';
export const AGENT_MAP_CAPACITY = 'dropreason.agent.map.capacity';
export const AGENT_MAP_READ_DURATION = 'dropreason.agent.map.read.duration';
export const AGENT_COLLECTIONS = 'dropreason.agent.collections';
export const AGENT_PROGRAM_RUN_COUNT = 'dropreason.agent.program.run.count';
export const AGENT_PROGRAM_RUN_TIME = 'dropreason.agent.program.run.time';
export const AGENT_SAMPLES_DELIVERED = 'dropreason.agent.samples.delivered';
export const AGENT_SAMPLES_REFUSED = 'dropreason.agent.samples.refused';
export const AGENT_SAMPLES_LOST = 'dropreason.agent.samples.lost';

export const metadata = {
  type: 'dropreason',
  source: 'src/receiver/dropreason/metadata.yaml',
  attributes: {
    reason: {
      description:
        "Why the kernel dropped the packet: the kernel's skb_drop_reason name without the SKB_DROP_REASON_ prefix, read from the running kernel's BTF, with Retina's names where Retina has one (NETFILTER_DROP is IPTABLE_RULE_DROP, TCP_CLOSE is TCP_CLOSE_BASIC, NOT_SPECIFIED is UNKNOWN_DROP). Subsystem reasons read SUBSYSTEM:N. OTHER holds drops that found the kernel map full.",
      type: 'string',
    },
    direction: {
      description:
        'ingress when the packet had been received from a device, egress when it was built locally and never received, unknown when the kernel gives no signal.',
      type: 'string',
      enum: ['ingress', 'egress', 'unknown'],
    },
    error: {
      description:
        'For TCP_CONNECT_BASIC and TCP_ACCEPT_BASIC only: the errno name the kernel function returned (e.g. ENETUNREACH, EINVAL). EAGAIN from a non-blocking accept is not counted.',
      type: 'string',
    },
    location: {
      description:
        "The kernel function that freed the dropped packet (skb:kfree_skb's location argument, named by the kernel's symbol table, or /proc/kallsyms before Linux 5.13, without the offset; its address in hex if no symbol names it). One value per drop site the node hits: tens. Absent for failed connects and accepts, for OTHER, and with the receiver's location set to false.",
      type: 'string',
    },
    'peer.address': {
      description: 'Advanced mode: the remote address of the flow of the dropped packet.',
      type: 'string',
    },
    'peer.port': {
      description: 'Advanced mode: the remote port (TCP and UDP); off by default, as ephemeral ports multiply series.',
      type: 'int',
    },
    'network.transport': {
      description: 'Advanced mode and samples: tcp, udp, icmp, sctp, or the protocol number.',
      type: 'string',
    },
    program: {
      description: "The eBPF program's name.",
      type: 'string',
    },
    hook: {
      description: 'Where the counting program is attached.',
      type: 'string',
      enum: ['tp_btf/kfree_skb', 'tracepoint/skb/kfree_skb'],
    },
    function: {
      description: 'The kernel function a function hook watches (e.g. nf_nat_inet_fn).',
      type: 'string',
    },
    hook_reason: {
      name_override: 'reason',
      description: 'The reason a function hook adds (e.g. IPTABLE_NAT_DROP).',
      type: 'string',
    },
    strategy: {
      description: 'How a function hook is attached.',
      type: 'string',
      enum: ['fexit', 'kprobe', 'unavailable', 'not needed'],
    },
    map: {
      description: 'The kernel map.',
      type: 'string',
    },
    result: {
      description: 'How a collection ended.',
      type: 'string',
      enum: ['ok', 'error'],
    },
    receiver: {
      description: "The receiver's component id, e.g. receivers.dropreason.",
      type: 'string',
    },
    'network.interface.name': {
      description:
        "Interface drops: the network interface, in the agent's network namespace. Samples: the device the packet was on, when it is in the agent's network namespace (a device of another namespace cannot be named from here: see dropreason.interface.index).",
      type: 'string',
    },
    'dropreason.reason': {
      description: "The drop's reason, as the reason attribute of the drop metrics.",
      type: 'string',
    },
    'dropreason.direction': {
      description: 'ingress, egress or unknown, as the direction attribute of the drop metrics.',
      type: 'string',
      enum: ['ingress', 'egress', 'unknown'],
    },
    'dropreason.location': {
      description:
        "The kernel function that freed the packet (named as the location attribute is, in hex if no symbol names it), whether or not the receiver's location key is on.",
      type: 'string',
    },
    'dropreason.packet.length': {
      description: "The packet's length (skb->len) when it was dropped, in bytes.",
      type: 'int',
    },
    'dropreason.interface.index': {
      description:
        'The index of the device the packet was on (or arrived from), in its own network namespace; absent when it was on none.',
      type: 'int',
    },
    'dropreason.netns.inode': {
      description:
        "The inode of the packet's network namespace (of its socket, else its device): compare with `stat -L -c %i /proc/PID/ns/net` or `ls -iL /run/netns`.",
      type: 'int',
    },
    'network.type': {
      description: 'Samples: ipv4 or ipv6; absent when the packet held no IP header.',
      type: 'string',
      enum: ['ipv4', 'ipv6'],
    },
    'source.address': {
      description: "Samples: the packet's source address.",
      type: 'string',
    },
    'source.port': {
      description: "Samples: the packet's source port (TCP and UDP only).",
      type: 'int',
    },
    'destination.address': {
      description: "Samples: the packet's destination address.",
      type: 'string',
    },
    'destination.port': {
      description: "Samples: the packet's destination port (TCP and UDP only).",
      type: 'int',
    },
    sample_reason: {
      name_override: 'reason',
      description: 'The reason of the drops whose samples were refused (OTHER for reasons sharing one budget slot).',
      type: 'string',
    },
    'network.io.direction': {
      description: 'Interface drops: receive for the rx_ counters, transmit for tx_dropped.',
      type: 'string',
      enum: ['receive', 'transmit'],
    },
    'dropreason.interface.statistic': {
      description:
        "Interface drops: the kernel's name of the counter (struct rtnl_link_stats64, and the file in /sys/class/net/DEV/statistics). rx_dropped: received but not processed (no buffer, unknown protocol, filtered); rx_missed_errors: dropped by the NIC for lack of host buffers; rx_fifo_errors, rx_over_errors: receive FIFO or ring overflows (events, not always one per packet); tx_dropped: not transmitted (full queue, no carrier, peer down). /proc/net/dev's receive drop column is rx_dropped + rx_missed_errors.",
      type: 'string',
      enum: ['rx_dropped', 'rx_missed_errors', 'rx_fifo_errors', 'rx_over_errors', 'tx_dropped'],
    },
  },
  metrics: {
    'dropreason.drop.count': {
      description: 'Packets dropped by the kernel, by reason and direction.',
      unit: '{packet}',
      sum: {
        value_type: 'int',
        monotonic: true,
        aggregation_temporality: 'cumulative',
      },
      attributes: ['reason', 'direction', 'error', 'location'],
    },
    'dropreason.drop.bytes': {
      description: 'Bytes of the packets dropped by the kernel (skb->len at the drop), by reason and direction.',
      unit: 'By',
      sum: {
        value_type: 'int',
        monotonic: true,
        aggregation_temporality: 'cumulative',
      },
      attributes: ['reason', 'direction', 'error', 'location'],
    },
    'dropreason.pod.drop.count': {
      description:
        "Packets dropped by the kernel, per local address (advanced mode): the resource holds k8s.pod.ip and, after the k8sattributes processor, the pod's name and namespace.",
      unit: '{packet}',
      sum: {
        value_type: 'int',
        monotonic: true,
        aggregation_temporality: 'cumulative',
      },
      attributes: ['reason', 'direction', 'location', 'peer.address', 'peer.port', 'network.transport'],
    },
    'dropreason.pod.drop.bytes': {
      description: 'Bytes of the packets dropped by the kernel, per local address (advanced mode).',
      unit: 'By',
      sum: {
        value_type: 'int',
        monotonic: true,
        aggregation_temporality: 'cumulative',
      },
      attributes: ['reason', 'direction', 'location', 'peer.address', 'peer.port', 'network.transport'],
    },
    'system.network.packet.dropped': {
      description:
        "Packets dropped per network interface by the kernel's own counters, including drops by the NIC and its driver that never reach the stack (semantic convention system.network.packet.dropped), by counter.",
      unit: '{packet}',
      sum: {
        value_type: 'int',
        monotonic: true,
        aggregation_temporality: 'cumulative',
      },
      attributes: ['network.interface.name', 'network.io.direction', 'dropreason.interface.statistic'],
    },
  },
  telemetry: {
    metrics: {
      'dropreason.agent.program.attached': {
        description: 'eBPF programs attached, by program and hook: 1 while attached.',
        unit: '',
        gauge: {
          value_type: 'int',
          async: true,
        },
        attributes: ['program', 'hook', 'receiver'],
      },
      'dropreason.agent.hook.status': {
        description: 'How each function hook is attached: 1 for its strategy (fexit, kprobe, unavailable, not needed).',
        unit: '',
        gauge: {
          value_type: 'int',
          async: true,
        },
        attributes: ['function', 'hook_reason', 'strategy', 'receiver'],
      },
      'dropreason.agent.map.entries': {
        description: 'Entries in the kernel drop map at the last read, against its capacity.',
        unit: '{entry}',
        gauge: {
          value_type: 'int',
          async: true,
        },
        attributes: ['map', 'receiver'],
      },
      'dropreason.agent.map.capacity': {
        description: 'Entries the kernel drop map can hold.',
        unit: '{entry}',
        gauge: {
          value_type: 'int',
          async: true,
        },
        attributes: ['map', 'receiver'],
      },
      'dropreason.agent.map.read.duration': {
        description: 'Time to read and decode the kernel drop maps.',
        unit: 's',
        histogram: {
          value_type: 'double',
          bucket_boundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1],
        },
        attributes: ['receiver'],
      },
      'dropreason.agent.collections': {
        description: 'Collections (map read and push), by result.',
        unit: '',
        sum: {
          value_type: 'int',
          monotonic: true,
        },
        attributes: ['result', 'receiver'],
      },
      'dropreason.agent.program.run.count': {
        description: 'Times the eBPF program ran (needs kernel.bpf_stats_enabled=1).',
        unit: '{run}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['program', 'receiver'],
      },
      'dropreason.agent.program.run.time': {
        description: 'Time spent in the eBPF program (needs kernel.bpf_stats_enabled=1).',
        unit: 'ns',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['program', 'receiver'],
      },
      'dropreason.agent.samples.delivered': {
        description: 'Samples of drops sent down the logs pipelines.',
        unit: '{sample}',
        sum: {
          value_type: 'int',
          monotonic: true,
        },
        attributes: ['receiver'],
      },
      'dropreason.agent.samples.refused': {
        description:
          'Drops not sampled because the budget (samples_per_second, samples_per_reason_per_second) was spent, by reason: counted in the kernel, plus the few user space refused when CPUs took the last of a budget at once. Read at each collection.',
        unit: '{sample}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['sample_reason', 'receiver'],
      },
      'dropreason.agent.samples.lost': {
        description:
          'Samples taken but lost in delivery: the ring buffer was full (user space fell behind), or a sample could not be decoded. Read at each collection.',
        unit: '{sample}',
        sum: {
          value_type: 'int',
          monotonic: true,
          async: true,
        },
        attributes: ['receiver'],
      },
    },
  },
  logs: {
    description:
      "A sample of a dropped packet, in a logs pipeline, under the receiver's budget (samples_per_second, samples_per_reason_per_second); its body a readable line, its time the kernel's.",
    attributes: [
      'dropreason.reason',
      'dropreason.direction',
      'dropreason.location',
      'dropreason.packet.length',
      'network.type',
      'network.transport',
      'source.address',
      'source.port',
      'destination.address',
      'destination.port',
      'network.interface.name',
      'dropreason.interface.index',
      'dropreason.netns.inode',
    ],
  },
} as const satisfies ComponentMetadata;
