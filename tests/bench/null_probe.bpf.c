// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Calibration for the per-drop figures: an empty tp_btf/kfree_skb program, attached the
 * way vxtrace's is. Its run_time_ns / run_cnt is what the kernel's run statistics cost by
 * themselves (two clock reads and a counter update per invocation). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/kfree_skb")
int BPF_PROG(vxt_null_probe)
{
	return 0;
}
