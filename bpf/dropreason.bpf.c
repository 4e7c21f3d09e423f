// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counts every skb the kernel frees as dropped, by reason and direction, in a per-CPU
 * hash. The kernel only counts; user space reads the map when metrics are collected.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dropreason.h"

char LICENSE[] SEC("license") = "GPL";

/* Count only drops in the network namespace with this inode number; 0 counts all. */
const volatile __u32 filter_netns_ino = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, METRICS_MAP_ENTRIES);
	__type(key, struct metrics_key);
	__type(value, struct metrics_value);
} metrics_map SEC(".maps");

/*
 * Drops that found metrics_map full, by direction, so totals stay exact: user space
 * reports them under one reason of their own.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DIRECTION_COUNT);
	__type(key, __u32);
	__type(value, struct metrics_value);
} overflow_map SEC(".maps");

static __always_inline void count_drop(struct metrics_key *key, __u64 len)
{
	struct metrics_value *val, init = { .count = 1, .bytes = len };
	long err;

	val = bpf_map_lookup_elem(&metrics_map, key);
	if (val) {
		/* Per-CPU slot: no other CPU writes it, and tracing programs are not preempted. */
		val->count++;
		val->bytes += len;
		return;
	}
	err = bpf_map_update_elem(&metrics_map, key, &init, BPF_NOEXIST);
	if (!err)
		return;
	if (err == -17 /* EEXIST: another CPU created the entry first */) {
		val = bpf_map_lookup_elem(&metrics_map, key);
		if (val) {
			val->count++;
			val->bytes += len;
			return;
		}
	}
	__u32 dir = key->direction;
	val = bpf_map_lookup_elem(&overflow_map, &dir);
	if (val) {
		val->count++;
		val->bytes += len;
	}
}

/*
 * ingress: the skb arrived from a device (skb_iif is set on receive); egress: it was
 * built locally for a socket and never received; unknown otherwise.
 */
static __always_inline __u16 skb_direction(struct sk_buff *skb)
{
	if (BPF_CORE_READ(skb, skb_iif))
		return DIRECTION_INGRESS;
	if (BPF_CORE_READ(skb, sk))
		return DIRECTION_EGRESS;
	return DIRECTION_UNKNOWN;
}

/* The network namespace of the socket that owns the skb, else of its device; 0 if neither. */
static __always_inline __u32 skb_netns_ino(struct sk_buff *skb)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);
	if (sk)
		return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev)
		return BPF_CORE_READ(dev, nd_net.net, ns.inum);
	return 0;
}

static __always_inline int handle_kfree_skb(struct sk_buff *skb, __u32 reason)
{
	/* Kernels that route consume_skb() through this tracepoint mark it SKB_CONSUMED. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	if (filter_netns_ino && skb_netns_ino(skb) != filter_netns_ino)
		return 0;

	struct metrics_key key = {
		.reason = reason,
		.direction = skb_direction(skb),
		.origin = ORIGIN_KERNEL,
	};
	count_drop(&key, BPF_CORE_READ(skb, len));
	return 0;
}

/* Kernels before 5.17 give no reason: report it as SKB_DROP_REASON_NOT_SPECIFIED (2). */
#define REASON_NOT_SPECIFIED 2

SEC("tp_btf/kfree_skb")
int BPF_PROG(dr_kfree_skb_btf, struct sk_buff *skb, void *location)
{
	__u32 reason = REASON_NOT_SPECIFIED;

	/* The reason argument exists from 5.17; on older kernels this branch is dead code. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		reason = (__u32)ctx[2];
	return handle_kfree_skb(skb, reason);
}

SEC("tracepoint/skb/kfree_skb")
int dr_kfree_skb_tp(struct trace_event_raw_kfree_skb *args)
{
	__u32 reason = REASON_NOT_SPECIFIED;

	if (bpf_core_field_exists(args->reason))
		reason = BPF_CORE_READ(args, reason);
	return handle_kfree_skb((struct sk_buff *)BPF_CORE_READ(args, skbaddr), reason);
}
