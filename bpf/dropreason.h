/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The ABI between the BPF programs and user space: plain fixed-width structs only.
 * src/receiver/dropreason/abi.ts mirrors these layouts; the loader checks the map key
 * and value sizes against it at start-up.
 */
#ifndef DROPREASON_H
#define DROPREASON_H

#define METRICS_MAP_ENTRIES 512
/*
 * Kernel reasons below this value are counted in reason_array, indexed by
 * reason * DIRECTION_COUNT + direction: an array lookup the verifier inlines, the fast
 * path under a drop storm. Each element holds FAST_LOCATIONS slots, one per drop
 * location (the kernel function that freed the skb), claimed in turn on each CPU; a
 * further location of the same reason and direction, and everything else, goes to
 * metrics_map.
 */
#define FAST_REASONS 256
#define FAST_LOCATIONS 4

/* Where a key's reason comes from. */
enum drop_origin {
	ORIGIN_KERNEL = 0, /* enum skb_drop_reason, as the kfree_skb tracepoint gives it */
	ORIGIN_HOOK = 1,   /* one of enum hook_reason, from a function hook */
};

/* Reasons of our own, for drops a function hook sees (ORIGIN_HOOK); hook_reasons.ts lists them. */
enum hook_reason {
	HOOK_IPTABLE_RULE_DROP = 1,
	HOOK_IPTABLE_NAT_DROP = 2,
	HOOK_CONNTRACK_ADD_DROP = 3,
	HOOK_TCP_CONNECT_BASIC = 4,
	HOOK_TCP_ACCEPT_BASIC = 5,
};

enum drop_direction {
	DIRECTION_UNKNOWN = 0,
	DIRECTION_INGRESS = 1,
	DIRECTION_EGRESS = 2,
	DIRECTION_COUNT = 3,
};

struct metrics_key {
	__u32 reason;     /* raw reason code, meaning set by origin */
	__s32 return_val; /* hook return value; 0 for tracepoint drops */
	__u16 direction;  /* enum drop_direction */
	__u16 origin;     /* enum drop_origin */
	__u32 pad;
	__u64 location;   /* kfree_skb's location argument; 0 when off or not a freed skb */
};

struct metrics_value {
	__u64 count;
	__u64 bytes;
};

/* A slot of reason_array: one drop location and its counts; location 0 is a free slot. */
struct location_value {
	__u64 location;
	__u64 count;
	__u64 bytes;
};

struct fast_value {
	struct location_value slot[FAST_LOCATIONS];
};

/* Advanced mode: drops aggregated per flow, in two maps user space drains in turn. */
#define ADV_MAP_ENTRIES 16384

struct adv_key {
	__u32 reason;      /* raw reason code, meaning set by origin */
	__u16 origin;      /* enum drop_origin */
	__u8 direction;    /* enum drop_direction */
	__u8 family;       /* 2 (AF_INET), 10 (AF_INET6), or 0 when the skb held no IP header */
	__u8 protocol;     /* IPPROTO_*, 0 if unknown */
	__u8 pad;
	__u16 remote_port; /* host byte order; 0 when not TCP or UDP */
	__u8 local_addr[16];  /* IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
	__u32 pad2;
	__u64 location;       /* as in struct metrics_key */
};

/*
 * Samples of dropped packets, sent to user space through the drop_samples ring buffer
 * under a budget. Each sample is charged to its reason's slot of sample_budget and to the
 * global slot; a slot gives at most its limit per epoch. User space starts a new epoch
 * every second (sample_epoch); a slot whose epoch is older is spent nothing.
 */
#define SAMPLE_RING_BYTES (256 * 1024)
/* Budget slots: kernel reasons below FAST_REASONS by value, then hook reasons, then the rest. */
#define SAMPLE_HOOK_SLOT FAST_REASONS
#define SAMPLE_OTHER_SLOT (2 * FAST_REASONS - 1)
#define SAMPLE_GLOBAL_SLOT (2 * FAST_REASONS)
#define SAMPLE_SLOTS (SAMPLE_GLOBAL_SLOT + 1)
/* sample_refused's last slot counts samples lost in delivery (the ring buffer was full). */
#define SAMPLE_LOST_SLOT SAMPLE_GLOBAL_SLOT

struct sample_budget {
	__u32 epoch; /* the epoch `taken` counts in */
	__u32 taken;
};

struct drop_sample {
	__u64 timestamp; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 location;  /* kfree_skb's location argument, whatever location_enabled says */
	__u32 epoch;     /* the budget epoch it was taken in */
	__u32 reason;    /* raw reason code, meaning set by origin */
	__u16 origin;    /* enum drop_origin */
	__u8 direction;  /* enum drop_direction */
	__u8 family;     /* 2 (AF_INET), 10 (AF_INET6), or 0 when the skb held no IP header */
	__u8 protocol;   /* IPPROTO_*, 0 if unknown */
	__u8 pad;
	__u16 pad2;
	__u32 len;       /* skb->len */
	__u32 ifindex;   /* the device the skb was on (or arrived from); 0 if none */
	__u32 netns;     /* inode of the network namespace of its socket or device; 0 if none */
	__u16 sport;     /* host byte order; 0 when not TCP or UDP */
	__u16 dport;
	__u8 saddr[16];  /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
};

#endif
