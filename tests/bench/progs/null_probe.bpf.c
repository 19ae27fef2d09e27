// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Calibration for the per-invocation figures: empty programs attached the way vxtrace's
 * are. Their run_time_ns / run_cnt is what the kernel's run statistics cost by themselves
 * (two clock reads and a counter update per invocation), on the same events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/kfree_skb")
int BPF_PROG(vxt_null_probe)
{
	return 0;
}

SEC("tc")
int vxt_null_tc(struct __sk_buff *skb)
{
	return -1; /* TCX_NEXT: the next program runs */
}
