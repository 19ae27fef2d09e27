/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The tunnel join: inner packet identity -> the tunnel it arrived through, written by the
 * underlay program for every VXLAN packet and read when that packet is dropped after
 * decapsulation (or counted on the VXLAN device).
 *
 * A per-CPU direct-mapped table: one slot per hash of the identity, in the receiving CPU's
 * own array. Measured on the lab's storm (tests/bench), per underlay packet:
 *  - LRU hash (always full under traffic, so every insert evicted): ~1,100 ns;
 *  - one shared direct-mapped array: ~320 ns, of which ~210 ns were cache lines bouncing
 *    between the CPUs writing random slots (atomics or not made no difference);
 *  - per-CPU array: the slots a CPU writes stay in its own cache.
 * A drop is usually seen on the CPU that received the packet (softirq, or a reader of the
 * socket on the same CPU); only when it is not are the other CPUs' arrays searched
 * (bpf_map_lookup_percpu_elem, or on kernels before 5.19 one plain array split by CPU).
 *
 * An identity is forgotten when a later packet on that CPU hashes to its slot, so a drop
 * k packets after its own still joins with probability (1 - 1/slots)^k; slots per CPU are
 * set by --join-slots. Slots are never cleared on a drop: only the owning CPU writes a
 * slot, which keeps the writer free of atomics, and a stale identity matches only a packet
 * with the same addresses, ports, protocol and IP ID.
 *
 * Each slot is a sequence lock with that single writer: a reader on another CPU whose
 * sequence changed under it misses instead of returning a torn tunnel. Its plain loads
 * rely on x86's load ordering (BPF has no load-acquire before LLVM 21 / Linux 6.15); on
 * weaker memory models a race costs a missed or wrong join, never a wrong total. */
#ifndef VXTRACE_TUNNEL_JOIN_BPF_H
#define VXTRACE_TUNNEL_JOIN_BPF_H

#include "maps.bpf.h"

#define VXT_MAX_CPUS 1024 /* bound of the cross-CPU search, for the verifier */

/* Set by the loader before load. */
const volatile __u32 join_slot_mask = VXT_JOIN_SLOTS_DEFAULT - 1;
const volatile __u32 nr_cpus = 1;
/* The kernel has bpf_map_lookup_percpu_elem (Linux >= 5.19). Without it another CPU's
 * per-CPU array cannot be read, so the slots live in join_by_cpu instead: one plain array
 * holding every CPU's slots back to back, each CPU still the only writer of its own part.
 * The loader sizes the map not in use to one entry; the verifier drops its code. */
const volatile bool percpu_lookup = true;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VXT_JOIN_SLOTS_DEFAULT); /* slots per CPU: --join-slots */
	__type(key, __u32);
	__type(value, struct vxt_join_slot);
} tunnel_join SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* nr_cpus x slots when percpu_lookup is false */
	__type(key, __u32);
	__type(value, struct vxt_join_slot);
} join_by_cpu SEC(".maps");

#define READ_ONCE_U64(x)     (*(volatile __u64 *)&(x))
#define WRITE_ONCE_U64(x, v) (*(volatile __u64 *)&(x) = (v))
#define compiler_barrier()   asm volatile("" ::: "memory")

static __always_inline bool join_key_equal(const struct vxt_flow_key *a,
					   const struct vxt_flow_key *b)
{
	return vxt_flow_key_lo(a) == vxt_flow_key_lo(b) && vxt_flow_key_hi(a) == vxt_flow_key_hi(b);
}

/* Slot i of `cpu` in join_by_cpu. */
static __always_inline struct vxt_join_slot *join_slot_of_cpu(__u32 i, __u32 cpu)
{
	__u32 k = cpu * (join_slot_mask + 1) + i;

	return bpf_map_lookup_elem(&join_by_cpu, &k);
}

/* Slot i of the running CPU. */
static __always_inline struct vxt_join_slot *join_slot_here(__u32 i)
{
	if (percpu_lookup)
		return bpf_map_lookup_elem(&tunnel_join, &i);
	return join_slot_of_cpu(i, bpf_get_smp_processor_id());
}

/* Remembers, in this CPU's slots, the tunnel of `k`. Only this CPU writes there, and a tc
 * program does not nest with itself, so there is one writer per slot. */
static __always_inline void join_record(const struct vxt_flow_key *k, const struct vxt_tunnel *t)
{
	struct vxt_join_slot *s = join_slot_here(vxt_join_hash(k) & join_slot_mask);
	__u64 seq;

	if (!s)
		return;
	seq = (s->seq | 1) + 1; /* the next even value */
	WRITE_ONCE_U64(s->seq, seq - 1);
	compiler_barrier();
	s->key = *k;
	s->tunnel = *t;
	compiler_barrier();
	WRITE_ONCE_U64(s->seq, seq);
}

static __always_inline bool join_read(struct vxt_join_slot *s, const struct vxt_flow_key *k,
				      struct vxt_tunnel *out)
{
	struct vxt_flow_key seen;
	__u64 seq;

	if (!s)
		return false;
	seq = READ_ONCE_U64(s->seq);
	if (seq == 0 || (seq & 1)) /* never written, or being written */
		return false;
	compiler_barrier();
	seen = s->key;
	*out = s->tunnel;
	compiler_barrier();
	return READ_ONCE_U64(s->seq) == seq && join_key_equal(&seen, k);
}

/* Copies the tunnel of `k` into *out: this CPU's slot first, then the other CPUs'. */
static __always_inline bool join_lookup(const struct vxt_flow_key *k, struct vxt_tunnel *out)
{
	__u32 i = vxt_join_hash(k) & join_slot_mask, me;
	struct vxt_join_slot *s;

	if (join_read(join_slot_here(i), k, out))
		return true;
	me = bpf_get_smp_processor_id(); /* only the search needs it */
	for (__u32 cpu = 0; cpu < VXT_MAX_CPUS && cpu < nr_cpus; cpu++) {
		if (cpu == me)
			continue;
		s = percpu_lookup ? bpf_map_lookup_percpu_elem(&tunnel_join, &i, cpu)
				  : join_slot_of_cpu(i, cpu);
		if (join_read(s, k, out)) {
			stat_inc(VXT_STAT_JOIN_OTHER_CPU);
			return true;
		}
	}
	return false;
}

#endif
