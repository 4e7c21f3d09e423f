// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counts every skb the kernel frees as dropped, by reason, direction and location (the
 * tracepoint's location argument), in per-CPU maps. The kernel only counts; user space
 * reads the maps when metrics are collected.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dropreason.h"

char LICENSE[] SEC("license") = "GPL";

/* Count only drops in the network namespace with this inode number; 0 counts all. */
const volatile __u32 filter_netns_ino = 0;
/* Advanced mode: also count each drop per flow in adv_map_0/1. */
const volatile __u32 advanced_enabled = 0;
/* Count each drop by its location too (kfree_skb's location argument); 0 keeps it 0. */
const volatile __u32 location_enabled = 0;
/* Samples of dropped packets: at most sample_limit per epoch, sample_reason_limit per reason. */
const volatile __u32 samples_enabled = 0;
const volatile __u32 sample_limit = 0;
const volatile __u32 sample_reason_limit = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, METRICS_MAP_ENTRIES);
	__type(key, struct metrics_key);
	__type(value, struct metrics_value);
} metrics_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FAST_REASONS * DIRECTION_COUNT);
	__type(key, __u32);
	__type(value, struct fast_value);
} reason_array SEC(".maps");

/*
 * Advanced mode's per-flow counts, double-buffered: programs write the map adv_control
 * names; user space switches them, waits for writers to finish, then reads and empties
 * the other. Nothing is lost to a read-then-delete race, and memory follows the number
 * of flows per interval. A plain hash, not an LRU: an LRU would evict counts silently;
 * here a flow that finds the map full is counted in adv_other, so totals stay exact.
 * Not per-CPU: the counts sit in the element, after the key, so a drop of a flow whose
 * element is cold misses one cache line fewer than with a per-CPU value (a pointer to
 * memory elsewhere), at the price of atomic adds (bench/advanced_ab.sh measured it).
 */
struct adv_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ADV_MAP_ENTRIES);
	__type(key, struct adv_key);
	__type(value, struct metrics_value);
};
struct adv_map adv_map_0 SEC(".maps");
struct adv_map adv_map_1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} adv_control SEC(".maps");

/* Advanced-mode drops whose flow found the map full, by direction. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DIRECTION_COUNT);
	__type(key, __u32);
	__type(value, struct metrics_value);
} adv_other SEC(".maps");

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

/* Samples of dropped packets, as struct drop_sample. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SAMPLE_RING_BYTES);
} drop_samples SEC(".maps");

/* What each budget slot has given in its epoch; user space never writes it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SAMPLE_SLOTS);
	__type(key, __u32);
	__type(value, struct sample_budget);
} sample_budget SEC(".maps");

/* The current budget epoch: user space adds one every second. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sample_epoch SEC(".maps");

/* Samples the budget refused, by budget slot; SAMPLE_LOST_SLOT: lost to a full ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SAMPLE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} sample_refused SEC(".maps");

/*
 * The skb a netfilter function is working on, and the reason to give it if it is dropped.
 * A NAT or conntrack hook marks the skb when the function is entered: nftables frees a
 * packet its chain drops inside the call (the function then returns NF_STOLEN), older
 * paths return NF_DROP and nf_hook_slow() frees it right after, on the same CPU. The
 * kfree_skb handler counts a netfilter drop of the marked skb under the hook's reason,
 * instead of NETFILTER_DROP. One slot per CPU: one count per drop, never two.
 */
struct refine_slot {
	__u64 skb;
	__u32 reason; /* enum hook_reason */
	__u32 outer;  /* the reason an enclosing mark (nf_hook_slow) gave the same skb */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct refine_slot);
} refine_map SEC(".maps");

/* An argument a kprobe saw at entry, for its kretprobe: keyed by thread and function. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} entry_args SEC(".maps");

enum entry_fn { FN_NAT = 1, FN_CT_CONFIRM = 2, FN_ACCEPT = 3, FN_NF_HOOK = 4, FN_CONNECT = 5 };

/* pid_tgid leaves the top byte free (tgid < 2^22): put the function there. */
static __always_inline __u64 entry_key(enum entry_fn fn)
{
	return bpf_get_current_pid_tgid() | ((__u64)fn << 56);
}

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

/* What the counter needs to know of a dropped skb. */
struct skb_facts {
	__u32 len;
	__u32 iif;    /* skb->skb_iif: set when the skb was received from a device */
	__u64 sk;     /* skb->sk: set for locally built skbs owned by a socket */
	__u32 netns;  /* inode of its network namespace, only read when filtering */
	/* Only read in advanced mode: where the headers are. */
	__u64 head;
	__u16 protocol;
	__u16 network_header;
	__u16 transport_header;
};

/*
 * tp_btf gives a typed skb pointer: direct loads, checked by the verifier, with no helper
 * call per field. This is the hot path under a drop storm.
 */
static __always_inline void read_facts_direct(struct sk_buff *skb, struct skb_facts *f)
{
	struct sock *sk = skb->sk;

	f->len = skb->len;
	f->iif = skb->skb_iif;
	f->sk = (__u64)sk;
	if (advanced_enabled) {
		f->head = (__u64)skb->head;
		f->protocol = skb->protocol;
		f->network_header = skb->network_header;
		f->transport_header = skb->transport_header;
	}
	if (filter_netns_ino) {
		struct net_device *dev = skb->dev;
		if (sk)
			f->netns = sk->__sk_common.skc_net.net->ns.inum;
		else if (dev)
			f->netns = dev->nd_net.net->ns.inum;
	}
}

/* The classic tracepoint gives an untyped address: read through bpf_probe_read_kernel. */
static __always_inline void read_facts_probe(struct sk_buff *skb, struct skb_facts *f)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);

	f->len = BPF_CORE_READ(skb, len);
	f->iif = BPF_CORE_READ(skb, skb_iif);
	f->sk = (__u64)sk;
	if (advanced_enabled) {
		f->head = (__u64)BPF_CORE_READ(skb, head);
		f->protocol = BPF_CORE_READ(skb, protocol);
		f->network_header = BPF_CORE_READ(skb, network_header);
		f->transport_header = BPF_CORE_READ(skb, transport_header);
	}
	if (filter_netns_ino) {
		struct net_device *dev = BPF_CORE_READ(skb, dev);
		if (sk)
			f->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
		else if (dev)
			f->netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	}
}

/*
 * ingress: the skb arrived from a device (skb_iif is set on receive); egress: it was
 * built locally for a socket and never received; unknown otherwise.
 */
static __always_inline __u16 skb_direction(const struct skb_facts *f)
{
	if (f->iif)
		return DIRECTION_INGRESS;
	if (f->sk)
		return DIRECTION_EGRESS;
	return DIRECTION_UNKNOWN;
}

/* NETFILTER_DROP, or any drop on kernels whose tracepoint gives no reason. */
static __always_inline bool is_netfilter_reason(__u32 reason)
{
	if (!bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NETFILTER_DROP))
		return true;
	return reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NETFILTER_DROP);
}

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/*
 * Addresses, protocol and remote port from the skb's headers, oriented by direction.
 * One read takes the IP header and the four bytes after it, which are the ports when no
 * IP options or IPv6 extension headers come between: a second read only otherwise.
 */
static __always_inline void read_flow(unsigned char *head, __u16 proto, __u16 nh, __u16 th, struct adv_key *k)
{
	__u8 saddr[16] = {}, daddr[16] = {};
	__be16 ports[2] = {};
	__u16 l4 = 0;
	bool have_ports = false;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct {
			struct iphdr ip;
			__be16 ports[2];
		} h;
		if (bpf_probe_read_kernel(&h, sizeof(h), head + nh))
			return;
		k->family = 2;
		k->protocol = h.ip.protocol;
		__builtin_memcpy(saddr, &h.ip.saddr, 4);
		__builtin_memcpy(daddr, &h.ip.daddr, 4);
		l4 = nh + h.ip.ihl * 4;
		if (h.ip.ihl == 5) {
			__builtin_memcpy(ports, h.ports, sizeof(ports));
			have_ports = true;
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct {
			struct ipv6hdr ip6;
			__be16 ports[2];
		} h;
		if (bpf_probe_read_kernel(&h, sizeof(h), head + nh))
			return;
		k->family = 10;
		k->protocol = h.ip6.nexthdr;
		__builtin_memcpy(saddr, &h.ip6.saddr, 16);
		__builtin_memcpy(daddr, &h.ip6.daddr, 16);
		l4 = nh + sizeof(h.ip6);
		__builtin_memcpy(ports, h.ports, sizeof(ports));
		have_ports = true;
	} else {
		return;
	}
	__u16 sport = 0, dport = 0;
	if (k->protocol == IPPROTO_TCP || k->protocol == IPPROTO_UDP) {
		/* transport_header is ~0 until the stack sets it; elsewhere it is the truth. */
		__u16 at = th != 0xffff ? th : l4;
		if (at != l4 || !have_ports)
			have_ports = !bpf_probe_read_kernel(ports, sizeof(ports), head + at);
		if (have_ports) {
			sport = bpf_ntohs(ports[0]);
			dport = bpf_ntohs(ports[1]);
		}
	}
	if (k->direction == DIRECTION_INGRESS) {
		__builtin_memcpy(k->local_addr, daddr, 16);
		__builtin_memcpy(k->remote_addr, saddr, 16);
		k->remote_port = sport;
	} else {
		__builtin_memcpy(k->local_addr, saddr, 16);
		__builtin_memcpy(k->remote_addr, daddr, 16);
		k->remote_port = dport;
	}
}

static __always_inline bool count_flow_in(void *map, struct adv_key *k, __u64 len)
{
	struct metrics_value *val, init = { .count = 1, .bytes = len };

	val = bpf_map_lookup_elem(map, k);
	if (!val) {
		long err = bpf_map_update_elem(map, k, &init, BPF_NOEXIST);
		if (!err)
			return true;
		if (err != -17 /* EEXIST: another CPU created the entry first */)
			return false;
		val = bpf_map_lookup_elem(map, k);
		if (!val)
			return false;
	}
	/* Shared by all CPUs. */
	__sync_fetch_and_add(&val->count, 1);
	__sync_fetch_and_add(&val->bytes, len);
	return true;
}

static __always_inline void count_flow(struct adv_key *k, __u64 len)
{
	__u32 zero = 0;
	__u32 *active = bpf_map_lookup_elem(&adv_control, &zero);
	bool counted;

	if (active && *active)
		counted = count_flow_in(&adv_map_1, k, len);
	else
		counted = count_flow_in(&adv_map_0, k, len);
	if (counted)
		return;
	__u32 dir = k->direction;
	struct metrics_value *val = bpf_map_lookup_elem(&adv_other, &dir);
	if (val) {
		val->count++;
		val->bytes += len;
	}
}

/* Kernels that route consume_skb() through this tracepoint mark it SKB_CONSUMED. */
static __always_inline bool is_consumed(__u32 reason)
{
	return bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	       reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED);
}

/*
 * The fast path: the slot of this location in the element of a kernel reason and
 * direction, claiming a free one. False when all slots hold other locations.
 */
static __always_inline bool count_fast(struct fast_value *v, __u64 location, __u64 len)
{
	if (!location_enabled) {
		v->slot[0].count++;
		v->slot[0].bytes += len;
		return true;
	}
#pragma unroll
	for (int i = 0; i < FAST_LOCATIONS; i++) {
		struct location_value *s = &v->slot[i];
		/* Per-CPU element: no other CPU claims this slot. */
		if (!s->location)
			s->location = location;
		if (s->location == location) {
			s->count++;
			s->bytes += len;
			return true;
		}
	}
	return false;
}

/* The budget slot of a reason. */
static __always_inline __u32 sample_slot(__u32 reason, __u16 origin)
{
	if (origin == ORIGIN_KERNEL && reason < FAST_REASONS)
		return reason;
	if (origin == ORIGIN_HOOK && reason < FAST_REASONS - 1)
		return SAMPLE_HOOK_SLOT + reason;
	return SAMPLE_OTHER_SLOT;
}

static __always_inline bool spent(struct sample_budget *b, __u32 epoch, __u32 limit)
{
	return b->epoch == epoch && b->taken >= limit;
}

static __always_inline void take(struct sample_budget *b, __u32 epoch)
{
	/* Two CPUs may both pass the check and both take: user space drops the excess. */
	if (b->epoch != epoch) {
		b->epoch = epoch;
		b->taken = 0;
	}
	__sync_fetch_and_add(&b->taken, 1);
}

static __always_inline void count_refused(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&sample_refused, &slot);
	if (n)
		(*n)++;
}

/* Addresses, protocol and ports from the skb's headers, as on the wire. */
static __always_inline void read_packet(struct sk_buff *skb, struct drop_sample *s)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 proto = BPF_CORE_READ(skb, protocol);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u16 l4;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return;
		s->family = 2;
		s->protocol = ip.protocol;
		__builtin_memcpy(s->saddr, &ip.saddr, 4);
		__builtin_memcpy(s->daddr, &ip.daddr, 4);
		l4 = nh + ip.ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return;
		s->family = 10;
		s->protocol = ip6.nexthdr;
		__builtin_memcpy(s->saddr, &ip6.saddr, 16);
		__builtin_memcpy(s->daddr, &ip6.daddr, 16);
		l4 = nh + sizeof(ip6);
	} else {
		return;
	}
	if (s->protocol != IPPROTO_TCP && s->protocol != IPPROTO_UDP)
		return;
	__be16 ports[2];
	/* transport_header is ~0 until the stack sets it; elsewhere it is the truth. */
	if (bpf_probe_read_kernel(ports, sizeof(ports), head + (th != 0xffff ? th : l4)))
		return;
	s->sport = bpf_ntohs(ports[0]);
	s->dport = bpf_ntohs(ports[1]);
}

/*
 * A sample of this drop, if the budget allows. The budget is checked first: once it is
 * spent, a drop costs two array lookups and a per-CPU increment here.
 */
static __always_inline void sample_drop(struct sk_buff *skb, const struct metrics_key *key, __u64 location,
					__u32 len)
{
	__u32 zero = 0, slot = sample_slot(key->reason, key->origin), all = SAMPLE_GLOBAL_SLOT;
	__u32 *epoch = bpf_map_lookup_elem(&sample_epoch, &zero);
	struct sample_budget *mine = bpf_map_lookup_elem(&sample_budget, &slot);
	struct sample_budget *global = bpf_map_lookup_elem(&sample_budget, &all);

	if (!epoch || !mine || !global)
		return;
	__u32 e = *epoch;
	if (spent(mine, e, sample_reason_limit) || spent(global, e, sample_limit)) {
		count_refused(slot);
		return;
	}
	struct drop_sample *s = bpf_ringbuf_reserve(&drop_samples, sizeof(*s), 0);
	if (!s) {
		count_refused(SAMPLE_LOST_SLOT);
		return;
	}
	take(mine, e);
	take(global, e);
	__builtin_memset(s, 0, sizeof(*s));
	s->timestamp = bpf_ktime_get_ns();
	s->location = location;
	s->epoch = e;
	s->reason = key->reason;
	s->origin = key->origin;
	s->direction = key->direction;
	s->len = len;

	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct sock *sk = BPF_CORE_READ(skb, sk);
	s->ifindex = dev ? BPF_CORE_READ(dev, ifindex) : BPF_CORE_READ(skb, skb_iif);
	if (sk)
		s->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	else if (dev)
		s->netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	read_packet(skb, s);
	bpf_ringbuf_submit(s, 0);
}

static __always_inline int handle_kfree_skb(struct sk_buff *skb, __u32 reason, __u64 location,
					    const struct skb_facts *f)
{
	if (filter_netns_ino && f->netns != filter_netns_ino)
		return 0;

	struct metrics_key key = {
		.reason = reason,
		.direction = skb_direction(f),
		.origin = ORIGIN_KERNEL,
		.location = location_enabled ? location : 0,
	};

	__u32 zero = 0;
	struct refine_slot *slot = bpf_map_lookup_elem(&refine_map, &zero);
	if (slot && slot->skb) {
		if (slot->skb == (__u64)skb && is_netfilter_reason(reason)) {
			key.reason = slot->reason;
			key.origin = ORIGIN_HOOK;
		}
		if (slot->skb == (__u64)skb || is_netfilter_reason(reason))
			slot->skb = 0;
	}
	if (samples_enabled)
		sample_drop(skb, &key, location, f->len);
	if (advanced_enabled) {
		struct adv_key k = {
			.reason = key.reason,
			.origin = key.origin,
			.direction = key.direction,
			.location = key.location,
		};
		read_flow((unsigned char *)f->head, f->protocol, f->network_header, f->transport_header, &k);
		count_flow(&k, f->len);
	}
	if (key.origin == ORIGIN_KERNEL && key.reason < FAST_REASONS) {
		__u32 index = key.reason * DIRECTION_COUNT + key.direction;
		struct fast_value *val = bpf_map_lookup_elem(&reason_array, &index);
		if (val && count_fast(val, key.location, f->len))
			return 0;
	}
	count_drop(&key, f->len);
	return 0;
}

/*
 * Kernels before 5.17 give no reason: report it as SKB_DROP_REASON_NOT_SPECIFIED (2).
 * They also free through kfree_skb buffers that were neither packets nor dropped: netlink
 * requests and acknowledgements (nfnetlink's batches, a closing socket's queue), which
 * carry no protocol. Every network packet has one: receive sets it from the link header,
 * the IPv4 and IPv6 output paths before their netfilter hooks. So on those kernels an skb
 * without a protocol is not counted.
 */
#define REASON_NOT_SPECIFIED 2

SEC("tp_btf/kfree_skb")
int BPF_PROG(dr_kfree_skb_btf, struct sk_buff *skb, void *location)
{
	__u32 reason = REASON_NOT_SPECIFIED;

	/* The reason argument exists from 5.17; the verifier drops the branch not taken. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		reason = (__u32)ctx[2];
	else if (!skb->protocol)
		return 0; /* not a packet: see above */
	if (is_consumed(reason))
		return 0;

	struct skb_facts f = {};
	read_facts_direct(skb, &f);
	return handle_kfree_skb(skb, reason, (__u64)location, &f);
}

SEC("tracepoint/skb/kfree_skb")
int dr_kfree_skb_tp(struct trace_event_raw_kfree_skb *args)
{
	__u32 reason = REASON_NOT_SPECIFIED;

	if (bpf_core_field_exists(args->reason))
		reason = BPF_CORE_READ(args, reason);
	else if (!BPF_CORE_READ(args, protocol))
		return 0; /* not a packet: see above */
	if (is_consumed(reason))
		return 0;

	struct sk_buff *skb = (struct sk_buff *)BPF_CORE_READ(args, skbaddr);
	struct skb_facts f = {};
	read_facts_probe(skb, &f);
	return handle_kfree_skb(skb, reason, (__u64)BPF_CORE_READ(args, location), &f);
}

/*
 * Function hooks for Retina's reasons. Each comes as fexit and as kprobe/kretprobe; user
 * space attaches the first that works on this kernel.
 */
#define NF_DROP 0
#define EAGAIN 11

static __always_inline void mark_netfilter_drop(struct sk_buff *skb, __u32 hook_reason)
{
	__u32 zero = 0;
	struct refine_slot *slot = bpf_map_lookup_elem(&refine_map, &zero);
	if (slot) {
		slot->outer = slot->skb == (__u64)skb ? slot->reason : 0;
		slot->skb = (__u64)skb;
		slot->reason = hook_reason;
	}
}

/*
 * A NAT or conntrack function returned. NF_DROP (the low byte of the verdict; the rest
 * may hold an errno) leaves the mark for nf_hook_slow()'s free; any other verdict gives
 * the skb back to an enclosing mark, or unmarks it.
 */
static __always_inline void netfilter_fn_done(struct sk_buff *skb, unsigned int verdict)
{
	__u32 zero = 0;
	struct refine_slot *slot = bpf_map_lookup_elem(&refine_map, &zero);
	if (!slot || slot->skb != (__u64)skb || (verdict & 0xff) == NF_DROP)
		return;
	if (slot->outer) {
		slot->reason = slot->outer;
		slot->outer = 0;
	} else {
		slot->skb = 0;
	}
}

/* Whether a socket is in the namespace being counted (always, with no filter). */
static __always_inline bool sk_counted(struct sock *sk)
{
	if (!filter_netns_ino)
		return true;
	return sk && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) == filter_netns_ino;
}

/* Not a packet drop: a failed connect or accept, counted with its error as return value. */
static __always_inline void count_socket_error(__u32 hook_reason, __u16 direction, int err)
{
	struct metrics_key key = {
		.reason = hook_reason,
		.return_val = err,
		.direction = direction,
		.origin = ORIGIN_HOOK,
	};
	count_drop(&key, 0);
}

SEC("fentry/nf_nat_inet_fn")
int BPF_PROG(dr_nat_fentry, void *priv, struct sk_buff *skb)
{
	mark_netfilter_drop(skb, HOOK_IPTABLE_NAT_DROP);
	return 0;
}

SEC("fexit/nf_nat_inet_fn")
int BPF_PROG(dr_nat_fexit, void *priv, struct sk_buff *skb, void *state, unsigned int ret)
{
	netfilter_fn_done(skb, ret);
	return 0;
}

SEC("fentry/__nf_conntrack_confirm")
int BPF_PROG(dr_ct_confirm_fentry, struct sk_buff *skb)
{
	mark_netfilter_drop(skb, HOOK_CONNTRACK_ADD_DROP);
	return 0;
}

SEC("fexit/__nf_conntrack_confirm")
int BPF_PROG(dr_ct_confirm_fexit, struct sk_buff *skb, int ret)
{
	netfilter_fn_done(skb, ret);
	return 0;
}

SEC("fexit/tcp_v4_connect")
int BPF_PROG(dr_connect4_fexit, struct sock *sk, void *uaddr, int addr_len, int ret)
{
	if (ret < 0 && sk_counted(sk))
		count_socket_error(HOOK_TCP_CONNECT_BASIC, DIRECTION_EGRESS, ret);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(dr_connect6_fexit, struct sock *sk, void *uaddr, int addr_len, int ret)
{
	if (ret < 0 && sk_counted(sk))
		count_socket_error(HOOK_TCP_CONNECT_BASIC, DIRECTION_EGRESS, ret);
	return 0;
}

static __always_inline void accept_failed(int err)
{
	/* EAGAIN is a non-blocking accept() with nothing to accept: not a failure. */
	if (err < 0 && err != -EAGAIN)
		count_socket_error(HOOK_TCP_ACCEPT_BASIC, DIRECTION_INGRESS, err);
}

/* 6.10 moved accept's flags and error into struct proto_accept_arg. */
SEC("fexit/inet_csk_accept")
int dr_accept_fexit(unsigned long long *ctx)
{
	int err = 0;

	if (!sk_counted((struct sock *)ctx[0]))
		return 0;
	if (bpf_core_type_exists(struct proto_accept_arg)) {
		struct sock *ret = (struct sock *)ctx[2];
		struct proto_accept_arg *arg = (struct proto_accept_arg *)ctx[1];
		if (!ret)
			err = BPF_CORE_READ(arg, err);
	} else {
		struct sock *ret = (struct sock *)ctx[4];
		int *errp = (int *)ctx[2];
		if (!ret)
			bpf_probe_read_kernel(&err, sizeof(err), errp);
	}
	accept_failed(err);
	return 0;
}

/*
 * Kernels before 5.17 give the tracepoint no reason: there, any skb freed while
 * nf_hook_slow() runs on it was dropped by netfilter. Attached only on such kernels,
 * since it runs for every packet that meets a netfilter hook.
 */
SEC("fentry/nf_hook_slow")
int BPF_PROG(dr_nf_hook_fentry, struct sk_buff *skb)
{
	mark_netfilter_drop(skb, HOOK_IPTABLE_RULE_DROP);
	return 0;
}

static __always_inline void unmark(struct sk_buff *skb)
{
	__u32 zero = 0;
	struct refine_slot *slot = bpf_map_lookup_elem(&refine_map, &zero);
	if (slot && slot->skb == (__u64)skb)
		slot->skb = 0;
}

SEC("fexit/nf_hook_slow")
int BPF_PROG(dr_nf_hook_fexit, struct sk_buff *skb)
{
	unmark(skb);
	return 0;
}

SEC("kprobe/nf_hook_slow")
int BPF_KPROBE(dr_nf_hook_kprobe, struct sk_buff *skb)
{
	__u64 id = entry_key(FN_NF_HOOK), v = (__u64)skb;
	mark_netfilter_drop(skb, HOOK_IPTABLE_RULE_DROP);
	bpf_map_update_elem(&entry_args, &id, &v, BPF_ANY);
	return 0;
}

SEC("kretprobe/nf_hook_slow")
int BPF_KRETPROBE(dr_nf_hook_kretprobe)
{
	__u64 id = entry_key(FN_NF_HOOK);
	__u64 *skb = bpf_map_lookup_elem(&entry_args, &id);
	if (skb) {
		unmark((struct sk_buff *)*skb);
		bpf_map_delete_elem(&entry_args, &id);
	}
	return 0;
}

/* kprobe fallbacks: arguments from the entry probe, results from the return probe. */
static __always_inline void netfilter_fn_entry(enum entry_fn fn, struct sk_buff *skb, __u32 hook_reason)
{
	__u64 id = entry_key(fn), v = (__u64)skb;
	mark_netfilter_drop(skb, hook_reason);
	bpf_map_update_elem(&entry_args, &id, &v, BPF_ANY);
}

static __always_inline void netfilter_fn_return(enum entry_fn fn, unsigned int verdict)
{
	__u64 id = entry_key(fn);
	__u64 *skb = bpf_map_lookup_elem(&entry_args, &id);
	if (skb) {
		netfilter_fn_done((struct sk_buff *)*skb, verdict);
		bpf_map_delete_elem(&entry_args, &id);
	}
}

SEC("kprobe/nf_nat_inet_fn")
int BPF_KPROBE(dr_nat_kprobe, void *priv, struct sk_buff *skb)
{
	netfilter_fn_entry(FN_NAT, skb, HOOK_IPTABLE_NAT_DROP);
	return 0;
}

SEC("kretprobe/nf_nat_inet_fn")
int BPF_KRETPROBE(dr_nat_kretprobe, unsigned int ret)
{
	netfilter_fn_return(FN_NAT, ret);
	return 0;
}

SEC("kprobe/__nf_conntrack_confirm")
int BPF_KPROBE(dr_ct_confirm_kprobe, struct sk_buff *skb)
{
	netfilter_fn_entry(FN_CT_CONFIRM, skb, HOOK_CONNTRACK_ADD_DROP);
	return 0;
}

SEC("kretprobe/__nf_conntrack_confirm")
int BPF_KRETPROBE(dr_ct_confirm_kretprobe, int ret)
{
	netfilter_fn_return(FN_CT_CONFIRM, ret);
	return 0;
}

/* connect's entry probe only notes that this call is one to count (the namespace filter). */
static __always_inline void connect_entry(struct sock *sk)
{
	__u64 id = entry_key(FN_CONNECT), one = 1;
	if (sk_counted(sk))
		bpf_map_update_elem(&entry_args, &id, &one, BPF_ANY);
}

static __always_inline void connect_return(int ret)
{
	__u64 id = entry_key(FN_CONNECT);
	if (!bpf_map_lookup_elem(&entry_args, &id))
		return;
	bpf_map_delete_elem(&entry_args, &id);
	if (ret < 0)
		count_socket_error(HOOK_TCP_CONNECT_BASIC, DIRECTION_EGRESS, ret);
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(dr_connect4_kprobe, struct sock *sk)
{
	connect_entry(sk);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(dr_connect4_kretprobe, int ret)
{
	connect_return(ret);
	return 0;
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(dr_connect6_kprobe, struct sock *sk)
{
	connect_entry(sk);
	return 0;
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(dr_connect6_kretprobe, int ret)
{
	connect_return(ret);
	return 0;
}

SEC("kprobe/inet_csk_accept")
int BPF_KPROBE(dr_accept_kprobe, struct sock *sk, void *arg1, void *arg2)
{
	__u64 id = entry_key(FN_ACCEPT);
	__u64 errp;

	if (!sk_counted(sk))
		return 0;
	if (bpf_core_type_exists(struct proto_accept_arg))
		errp = (__u64)arg1 + bpf_core_field_offset(struct proto_accept_arg, err);
	else
		errp = (__u64)arg2;
	bpf_map_update_elem(&entry_args, &id, &errp, BPF_ANY);
	return 0;
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(dr_accept_kretprobe, void *ret)
{
	__u64 id = entry_key(FN_ACCEPT);
	__u64 *errp = bpf_map_lookup_elem(&entry_args, &id);
	int err = 0;

	if (!errp)
		return 0;
	if (!ret)
		bpf_probe_read_kernel(&err, sizeof(err), (void *)*errp);
	bpf_map_delete_elem(&entry_args, &id);
	accept_failed(err);
	return 0;
}
