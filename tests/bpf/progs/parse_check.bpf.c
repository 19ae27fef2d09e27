// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Runs vxtrace's packet parser (bpf/packet.bpf.h) both ways on the same packet, for the
 * unit tests: the kfree_skb way, on bytes in kernel memory (a map value standing in for
 * skb->head + network_header, read through bpf_probe_read_kernel and the 96-byte prefetch),
 * and the tc way, on the test run's skb. Only the lab reaches the first way otherwise. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "packet.bpf.h"

#define TC_ACT_UNSPEC (-1)
#define CHECK_BYTES   512

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The kernel-memory copy: `len` bytes from the network header, then whatever was there
 * before (the test fills it with garbage: a reused buffer's stale bytes). */
struct check_in {
	__u32 len;
	__u32 pad;
	unsigned char bytes[CHECK_BYTES];
};

struct check_out {
	struct vxt_parsed kernel, tc;
	__s32 kernel_ret, tc_ret;
	__u32 kernel_end, tc_end;
	__u32 prefetched; /* the 96-byte copy succeeded */
	__u32 pad;
};

_Static_assert(sizeof(struct vxt_parsed) == 48, "kfree_parse_test.cpp mirrors it");
_Static_assert(sizeof(struct check_out) == 120, "kfree_parse_test.cpp mirrors it");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct check_in);
} check_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct check_out);
} check_out SEC(".maps");

SEC("tc")
int parse_both_ways(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct check_in *in = bpf_map_lookup_elem(&check_in, &zero);
	struct check_out *out = bpf_map_lookup_elem(&check_out, &zero);
	struct vxt_parsed kp = {}, tp = {};

	if (!in || !out)
		return TC_ACT_UNSPEC;
	struct pkt_reader k = {.kbase = in->bytes, .end = in->len < CHECK_BYTES ? in->len : 0};
	struct pkt_reader t = {.skb = skb, .end = skb->len};

	out->kernel_ret = -1;
	if (pkt_prefetch(&k)) {
		out->prefetched = k.kbuf_ok;
		out->kernel_ret = parse_packet(&k, true, 0, bpf_htons(4789), &kp);
	}
	out->tc_ret = parse_packet(&t, false, ETH_HLEN, bpf_htons(4789), &tp);
	out->kernel = kp;
	out->tc = tp;
	out->kernel_end = k.end;
	out->tc_end = t.end;
	return TC_ACT_UNSPEC;
}
