/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps and counter helpers. Exact totals live in per-CPU maps; the ring buffer only
 * carries detail, so a drop storm can lose events (counted) but never totals. */
#ifndef VXTRACE_MAPS_BPF_H
#define VXTRACE_MAPS_BPF_H

#include "vxtrace/abi.h"

/* Sized by the loader (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VXT_DROP_COUNT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} drop_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VXT_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VXT_PEER_SLOTS);
	__type(key, __u32);
	__type(value, struct vxt_peer_slot);
} peer_slots SEC(".maps");

/* Packets of peers that found their peer_slots slot taken on a CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* peer underlay address */
	__type(value, struct vxt_peer_rx);
} peer_rx SEC(".maps");

/* Drops of those peers, by cause: overflow only, so far fewer than peers x causes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct vxt_peer_drop_key);
	__type(value, __u64);
} peer_drops SEC(".maps");

/* This node's addresses, kept current by the loader; node_addrs_known is 0 until it first
 * fills them, and every drop counts per peer meanwhile. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VXT_MAX_NODE_ADDRS);
	__type(key, __u32); /* network order */
	__type(value, __u8);
} node_addrs SEC(".maps");

__u32 node_addrs_known;
/* Bumped by the loader after every change of node_addrs: what a CPU cached before is void. */
__u32 node_addrs_gen;

/* Each CPU's last outer destination found in node_addrs, with the generation it was found
 * in: a storm's drops are all addressed to the same address, and the hash is not free. */
struct node_addr_hit {
	__u32 addr;
	__u32 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct node_addr_hit);
} node_addr_cache SEC(".maps");

/* --bpf-event-rate: a token bucket per CPU, kept as nanoseconds of credit. Credit is
 * added only when jiffies moved since the last refill: over the rate, a drop then costs a
 * load of jiffies instead of a clock read (an ordered TSC read, ~45 ns on the bench's VM). */
struct event_bucket {
	__u64 last_ns;
	__u64 credit_ns;
	__u64 last_jiffies;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event_bucket);
} event_buckets SEC(".maps");

static __always_inline void count_u64(void *map, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		*v += 1;
}

static __always_inline void stat_inc(__u32 stat)
{
	count_u64(&stats, stat);
}

#define EEXIST 17 /* errno: the key is there already */

/* Per-CPU hash: lookup, else insert a zero value and look again. Two CPUs may insert the
 * same new key at once: the loser's -EEXIST is not a full map. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero,
					    __u32 full_stat)
{
	void *v = bpf_map_lookup_elem(map, key);
	long err;

	if (v)
		return v;
	err = bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	if (err && err != -EEXIST && full_stat < VXT_STAT_COUNT)
		stat_inc(full_stat);
	return bpf_map_lookup_elem(map, key);
}

/* This CPU's slot for `peer` in peer_slots when free or its own; NULL when another peer has
 * it, and the caller counts in the overflow hashes instead. 0.0.0.0 marks a free slot, so a
 * (spoofed) peer 0 always goes to the hashes. */
static __always_inline struct vxt_peer_slot *peer_slot_of(__u32 peer)
{
	__u32 i = vxt_peer_slot_of(peer);
	struct vxt_peer_slot *s = bpf_map_lookup_elem(&peer_slots, &i);

	if (!s || !peer || (s->peer != peer && s->peer))
		return NULL;
	s->peer = peer;
	return s;
}

static __always_inline struct vxt_peer_rx *peer_rx_of(__u32 peer)
{
	struct vxt_peer_slot *s = peer_slot_of(peer);
	struct vxt_peer_rx zero = {};

	return s ? &s->rx : lookup_or_init(&peer_rx, &peer, &zero, VXT_STAT_PEER_MAP_FULL);
}

static __always_inline void count_peer_drop(__u32 peer, __u8 cause)
{
	struct vxt_peer_slot *s = peer_slot_of(peer);
	struct vxt_peer_drop_key k = {.peer = peer, .cause = cause};
	__u32 c = cause;
	__u64 zero = 0, *n;

	/* The callers' bound on cause may be one clang drops as redundant, and that the
	 * verifier cannot see across a spill: check it here, where the index is used. */
	asm volatile("" : "+r"(c));
	if (s && c < VXT_CAUSE_COUNT) {
		s->drops[c]++;
		return;
	}
	n = lookup_or_init(&peer_drops, &k, &zero, VXT_STAT_PEER_MAP_FULL);
	if (n)
		*n += 1;
}

#endif
