// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Stands in for another vendor's tc program (Calico's, Cilium's) in the coexistence
 * tests: counts what reaches it. tc/pass ends the chain like an accepting dataplane;
 * tc/next lets later filters run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} peer_count SEC(".maps");

static __always_inline void count(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&peer_count, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tc/pass")
int peer_pass(struct __sk_buff *skb)
{
	count();
	return 0; /* TC_ACT_OK */
}

SEC("tc/next")
int peer_next(struct __sk_buff *skb)
{
	count();
	return -1; /* TC_ACT_UNSPEC */
}
