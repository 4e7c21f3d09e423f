// SPDX-License-Identifier: GPL-2.0
/*
 * The floor under any program on skb:kfree_skb: what the kernel's run accounting itself
 * reports for a tp_btf program that does nothing. bench/run.sh measures it in the same
 * run as the agent and bpftrace, so each can be read as floor + its own work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/kfree_skb")
int BPF_PROG(floor_kfree_skb, struct sk_buff *skb, void *location)
{
	return 0;
}
