/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The tunnel join: inner packet identity -> the tunnel it arrived through, written by the
 * underlay program for every VXLAN packet and read when that packet is dropped after
 * decapsulation.
 *
 * A direct-mapped table, not an LRU hash: one slot per hash of the identity in a plain
 * array. The LRU hash cost ~1 us per packet because, being always full under traffic, each
 * insert evicted (bpf_lru_pop_free, a locked list walk); a slot write is a few stores. The
 * price is that an identity is forgotten when a later packet hashes to its slot rather than
 * when 16384 newer ones arrived: a drop k packets after its own still joins with
 * probability (1 - 1/VXT_JOIN_SLOTS)^k (97 % at k = 500).
 *
 * Each slot is a sequence lock with a try-lock writer: a writer that finds the slot busy
 * skips (counted), so writers never interleave, and a reader whose sequence changed under
 * it misses instead of returning a torn tunnel. The reader's plain loads rely on x86's
 * load ordering (BPF has no load-acquire before LLVM 21 / Linux 6.15); on weaker memory
 * models a race costs a missed or wrong join, never a wrong count. */
#ifndef VXTRACE_TUNNEL_JOIN_BPF_H
#define VXTRACE_TUNNEL_JOIN_BPF_H

#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VXT_JOIN_SLOTS);
	__type(key, __u32);
	__type(value, struct vxt_join_slot);
} tunnel_join SEC(".maps");

static __always_inline struct vxt_join_slot *join_slot_of(const struct vxt_flow_key *k)
{
	__u32 i = vxt_join_slot_of(k);

	return bpf_map_lookup_elem(&tunnel_join, &i);
}

static __always_inline bool join_key_equal(const struct vxt_flow_key *a,
					   const struct vxt_flow_key *b)
{
	return vxt_flow_key_lo(a) == vxt_flow_key_lo(b) && vxt_flow_key_hi(a) == vxt_flow_key_hi(b);
}

/* Remembers the tunnel of `k`, replacing whatever identity had its slot. */
static __always_inline void join_record(const struct vxt_flow_key *k, const struct vxt_tunnel *t)
{
	struct vxt_join_slot *s = join_slot_of(k);
	__u64 seq;

	if (!s)
		return;
	seq = *(volatile __u64 *)&s->seq;
	if ((seq & 1) || __sync_val_compare_and_swap(&s->seq, seq, seq + 1) != seq) {
		stat_inc(VXT_STAT_JOIN_SLOT_BUSY);
		return;
	}
	s->key = *k;
	s->tunnel = *t;
	__sync_fetch_and_add(&s->seq, 1);
}

/* Copies the tunnel of `k` into *out; true when found. With `forget` the slot is cleared,
 * so a dropped packet's identity cannot match a later packet. */
static __always_inline bool join_lookup(const struct vxt_flow_key *k, struct vxt_tunnel *out,
					bool forget)
{
	struct vxt_join_slot *s = join_slot_of(k);
	struct vxt_flow_key seen;
	__u64 seq;

	if (!s)
		return false;
	seq = *(volatile __u64 *)&s->seq;
	if (seq == 0 || (seq & 1)) /* never written, or being written */
		return false;
	seen = s->key;
	*out = s->tunnel;
	asm volatile("" ::: "memory");
	if (*(volatile __u64 *)&s->seq != seq || !join_key_equal(&seen, k))
		return false;
	if (forget && __sync_val_compare_and_swap(&s->seq, seq, seq + 1) == seq) {
		s->key.pad = 1; /* flow_key() writes 0: no packet has this identity */
		__sync_fetch_and_add(&s->seq, 1);
	}
	return true;
}

#endif
