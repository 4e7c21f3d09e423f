// SPDX-License-Identifier: GPL-2.0-only
/*
 * Names a kernel code address with the kernel's own symbol table: run once per address
 * with BPF_PROG_TEST_RUN, the address as the first argument, it writes "%pB" of it
 * (function+offset/size [module]) to symbol_name. %pB reads the address as a return
 * address, as kfree_skb's location argument is. Needs bpf_snprintf (Linux 5.13).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "symbols.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[SYMBOL_NAME_LEN]);
} symbol_name SEC(".maps");

SEC("raw_tp")
int name_address(struct bpf_raw_tracepoint_args *ctx)
{
	static const char fmt[] = "%pB";
	__u64 args[1] = { ctx->args[0] };
	__u32 zero = 0;
	char *out = bpf_map_lookup_elem(&symbol_name, &zero);

	if (!out)
		return 0;
	return bpf_snprintf(out, SYMBOL_NAME_LEN, fmt, args, sizeof(args));
}
