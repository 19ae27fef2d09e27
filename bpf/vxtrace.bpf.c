// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vxtrace's kernel side. Three programs, all observers:
 *  - vxt_tc_underlay: tc ingress of the underlay NIC. Counts VXLAN packets per sending node
 *    and remembers, by inner packet identity, the tunnel each one came through.
 *  - vxt_tc_overlay: tc ingress of the VXLAN device. Counts per peer what survived
 *    decapsulation.
 *  - vxt_kfree_skb: every drop. Exact per-CPU totals by reason and cause; for causes of
 *    interest, the dropped packet's flow, its tunnel (parsed or joined) and an event.
 * The tc programs return TC_ACT_UNSPEC (== TCX_NEXT): the next program or filter still runs.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "packet.bpf.h"
#include "tunnel_join.bpf.h"

#define TC_ACT_UNSPEC (-1)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 abi_version = VXT_ABI_VERSION;
const volatile __u16 vxlan_port = 4789; /* host order */
const volatile __u32 parse_causes = ~(1u << VXT_CAUSE_BACKGROUND);
const volatile __u32 stream_causes = ~(1u << VXT_CAUSE_BACKGROUND);
/* --bpf-event-rate: each CPU streams at most one event per event_cost_ns, bursts up to
 * event_burst_ns of saved credit; 0: no limit. Drops over it are still counted and
 * attributed, only their event is skipped: a storm then costs what a counted drop costs. */
/* --pcap: drop events carry the packet's bytes (struct vxt_drop_capture). */
const volatile bool capture = false;
/* --stack: drop events carry the kernel stack (struct vxt_drop_capture too). */
const volatile bool stack = false;
const volatile __u64 event_cost_ns = 0;
const volatile __u64 event_burst_ns = 0;
/* Ring wakeups: the reader is woken only once this many bytes wait (else it reads on its
 * own clock). The kernel's default wakes it for every record that finds it caught up, and
 * each wakeup is an irq_work on the dropping CPU: a self-IPI, a VM exit under
 * virtualization. 0: the kernel's default. */
const volatile __u64 wakeup_bytes = 0;

/* Kernel reason -> cause, filled by the loader from the running kernel's BTF before the
 * kfree_skb program is attached. A zero (unfilled) entry reads as VXT_CAUSE_OTHER; an entry
 * with VXT_CAUSE_BY_SITE asks the drop site table. */
__u8 reason_cause[VXT_MAX_REASONS];

/* LINUX_MIB_IPRPFILTER in the running kernel's enum (72 in 5.10, 76 in 6.18), from BTF;
 * 0 when unknown. */
const volatile __u32 mib_rpfilter = 0;

/* Kernel functions that free packets, sorted by address, filled like reason_cause. */
struct vxt_drop_site drop_sites[VXT_MAX_SITES];
__u32 nr_drop_sites;

/* Packets, not skbs: GRO hands tc one skb for up to 64 merged segments (always on the
 * VXLAN device, through its gro_cells; on the underlay with a NIC's GRO), while drops and
 * the kernel's own device counters count packets. */
static __always_inline __u32 packets_of(struct __sk_buff *skb)
{
	return skb->gso_segs > 1 ? skb->gso_segs : 1;
}

SEC("tc")
int vxt_tc_underlay(struct __sk_buff *skb)
{
	struct pkt_reader r = {.skb = skb, .end = skb->len};
	struct vxt_parsed p = {};
	struct vxt_peer_rx *rx;

	stat_inc(VXT_STAT_TC_UNDERLAY_PKTS);
	if (skb->protocol != bpf_htons(ETH_P_IP) ||
	    !parse_packet(&r, false, ETH_HLEN, bpf_htons(vxlan_port), &p) || !p.is_vxlan)
		return TC_ACT_UNSPEC;

	stat_inc(VXT_STAT_TC_VXLAN_PKTS);
	rx = peer_rx_of(p.outer.saddr);
	if (rx) {
		rx->packets += packets_of(skb);
		rx->bytes += skb->len;
	}
	if (!p.inner.valid) {
		stat_inc(VXT_STAT_TC_MALFORMED);
		return TC_ACT_UNSPEC;
	}

	struct vxt_flow_key key;
	struct vxt_tunnel t = {
		.peer = p.outer.saddr,
		.local = p.outer.daddr,
		.vni = p.vni,
		.outer_sport = p.outer.sport,
		.source = VXT_TUNNEL_JOINED,
		.ifindex = skb->ifindex,
	};
	/* bpf_csum_level(QUERY) only reads: >= 0 when the device set CHECKSUM_UNNECESSARY. */
	t.rx_csum = bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY) >= 0 ? VXT_RX_CSUM_UNNECESSARY
								   : VXT_RX_CSUM_SOFTWARE;
	flow_key(&p.inner, &key);
	join_record(&key, &t);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int vxt_tc_overlay(struct __sk_buff *skb)
{
	struct pkt_reader r = {.skb = skb, .end = skb->len};
	struct vxt_flow f = {};
	struct vxt_flow_key key;
	struct vxt_tunnel t;
	struct vxt_peer_rx *rx;

	stat_inc(VXT_STAT_TC_OVERLAY_PKTS);
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	parse_ipv4(&r, false, ETH_HLEN, &f);
	if (!f.valid)
		return TC_ACT_UNSPEC;
	flow_key(&f, &key);
	if (join_lookup(&key, &t)) {
		rx = peer_rx_of(t.peer);
		if (rx)
			rx->decapsulated += packets_of(skb);
	}
	return TC_ACT_UNSPEC;
}

/* Kernel pointers live in the upper half; skb->dev shares a union with dev_scratch,
 * which UDP fills with non-pointer data once the skb is queued on a socket. Both are read
 * directly (BTF-typed loads: fault-safe, no helper call); the device's fields too. */
static __always_inline struct net_device *skb_dev(struct sk_buff *skb)
{
	if ((__s64)skb->dev_scratch >= 0)
		return NULL;
	return skb->dev;
}

static __always_inline __u8 ct_state_of(struct sk_buff *skb)
{
	unsigned long nfct;
	struct nf_conn *ct;

	if (!bpf_core_field_exists(skb->_nfct))
		return VXT_CT_UNKNOWN;
	nfct = skb->_nfct;
	ct = (struct nf_conn *)(nfct & ~7UL);
	if (!ct)
		return (nfct & 7) == 7 ? VXT_CT_UNTRACKED : VXT_CT_NONE;
	/* struct nf_conn lives in nf_conntrack's module BTF, which kernels before 5.11 lack
	 * and which exists only while the module is loaded: then the entry is there, its
	 * state unknown. */
	if (!bpf_core_type_exists(struct nf_conn))
		return VXT_CT_UNKNOWN;
	return (BPF_CORE_READ(ct, status) & (1UL << IPS_CONFIRMED_BIT)) ? VXT_CT_CONFIRMED
									: VXT_CT_NEW;
}

/* The drop's network namespace from the skb itself: the current task is usually the
 * sender (veth and loopback deliver synchronously), so it is only the last resort. */
static __always_inline __u32 netns_of(struct net_device *dev, struct sock *sk, struct sock *rx_sk,
				      __u8 *source)
{
	struct task_struct *task;

	if (!sk)
		sk = rx_sk;
	if (dev) {
		*source = VXT_NETNS_DEVICE;
		return dev->nd_net.net->ns.inum;
	}
	if (sk) {
		*source = VXT_NETNS_SOCKET;
		return sk->__sk_common.skc_net.net->ns.inum;
	}
	task = (struct task_struct *)bpf_get_current_task();
	*source = VXT_NETNS_TASK;
	return BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
}

/* The dropped packet's flow, and its tunnel: parsed when the packet is still VXLAN,
 * else joined by inner identity to what the underlay program recorded. */
static __always_inline void resolve_drop(struct sk_buff *skb, struct vxt_flow *flow,
					 struct vxt_tunnel *tun)
{
	struct pkt_reader r = {
		.kbase = skb->head + skb->network_header,
		/* Linear bytes only: paged data is not behind skb->head. */
		.end = skb->tail > skb->network_header ? skb->tail - skb->network_header : 0,
	};
	struct vxt_parsed p = {};
	struct vxt_flow_key key;
	struct vxt_tunnel seen;

	if (skb->protocol != bpf_htons(ETH_P_IP) || !pkt_prefetch(&r))
		return;
	if (!parse_packet(&r, true, 0, bpf_htons(vxlan_port), &p))
		return;
	stat_inc(VXT_STAT_DROPS_PARSED);
	*flow = p.is_vxlan ? p.inner : p.outer;
	if (p.is_vxlan) {
		tun->peer = p.outer.saddr;
		tun->local = p.outer.daddr;
		tun->vni = p.vni;
		tun->outer_sport = p.outer.sport;
		tun->source = VXT_TUNNEL_OUTER;
	}
	if (!flow->valid)
		return;
	flow_key(flow, &key);
	if (!join_lookup(&key, &seen))
		return;
	if (p.is_vxlan) {
		tun->rx_csum = seen.rx_csum;
		tun->ifindex = seen.ifindex;
	} else {
		*tun = seen;
	}
	stat_inc(VXT_STAT_JOIN_HITS);
}

/* The packet from its network header, linear bytes only (paged data is not behind head). */
static __always_inline void capture_packet(struct sk_buff *skb, struct vxt_drop_capture *c)
{
	/* 64-bit and unsigned: a 32-bit compare leaves the verifier a possibly negative size. */
	__u64 len = skb->tail > skb->network_header ? skb->tail - skb->network_header : 0;

	asm volatile("" : "+r"(len)); /* keep the bound where older verifiers see it */
	if (len > VXT_CAPTURE_MAX)
		len = VXT_CAPTURE_MAX;
	if (len && bpf_probe_read_kernel(c->data, len, skb->head + skb->network_header) < 0)
		len = 0;
	c->cap_len = len;
}

static __always_inline __u64 submit_flags(void)
{
	if (!wakeup_bytes)
		return 0;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									     : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit_drop(void *ctx, struct sk_buff *skb, struct sock *rx_sk,
				      void *location, __u32 reason, __u8 cause, __u8 ct,
				      const struct vxt_flow *flow, const struct vxt_tunnel *tun)
{
	struct net_device *dev = skb_dev(skb);
	struct vxt_drop_capture *c = NULL;
	struct vxt_drop_event *e;

	if (capture || stack) {
		c = bpf_ringbuf_reserve(&events, sizeof(*c), 0);
		e = (struct vxt_drop_event *)c;
	} else {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	}
	if (!e) {
		stat_inc(VXT_STAT_LOST_EVENTS);
		return;
	}
	e->hdr.type = c ? VXT_EVENT_DROP_CAPTURE : VXT_EVENT_DROP;
	e->hdr.size = c ? sizeof(*c) : sizeof(*e);
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->location = (__u64)location;
	e->reason = reason;
	e->netns = netns_of(dev, skb->sk, rx_sk, &e->netns_source);
	e->ifindex = dev ? dev->ifindex : skb->skb_iif;
	e->pkt_len = skb->len;
	e->cause = cause;
	e->ct_state = ct;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	/* NUL-terminated within IFNAMSIZ; the reader stops at the NUL. */
	if (dev) {
		/* Two BTF-typed 8-byte loads (fault-safe, no helper call), not bpf_probe_read. */
		__u64 *to = (__u64 *)e->ifname;
		const __u64 *from = (const __u64 *)dev->name;

		to[0] = from[0];
		to[1] = from[1];
	} else {
		e->ifname[0] = 0;
	}
	e->flow = *flow;
	e->tunnel = *tun;
	if (c) {
		long n = stack ? bpf_get_stack(ctx, c->stack, sizeof(c->stack), 0) : 0;

		c->cap_len = 0;
		c->stack_depth = n > 0 ? n / sizeof(__u64) : 0;
		__builtin_memset(c->pad, 0, sizeof(c->pad));
		if (capture)
			capture_packet(skb, c);
	}
	bpf_ringbuf_submit(e, submit_flags());
	stat_inc(VXT_STAT_EVENTS);
}

/* The bucket was refilled in this jiffy already. jiffies through bpf_jiffies64 where the
 * kernel's BTF names the helper (Linux >= 5.5); elsewhere every drop refills, as before. */
static __always_inline bool refilled_this_tick(struct event_bucket *b)
{
	__u64 j;

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_jiffies64))
		return false;
	j = bpf_jiffies64();
	if (j == b->last_jiffies)
		return true;
	b->last_jiffies = j;
	return false;
}

/* One token per streamed event. Credit grows once a tick, by the clock's elapsed time, so
 * none is lost and the rate holds over any window longer than a tick; the cap (a second of
 * credit) is applied at each refill, as it was on every drop. */
static __always_inline bool take_event_token(void)
{
	struct event_bucket *b;
	__u32 zero = 0;
	__u64 now, credit;

	if (!event_cost_ns)
		return true;
	b = bpf_map_lookup_elem(&event_buckets, &zero);
	if (!b)
		return true;
	credit = b->credit_ns;
	if (!refilled_this_tick(b)) {
		now = bpf_ktime_get_ns();
		credit += now - b->last_ns;
		b->last_ns = now;
		if (credit > event_burst_ns)
			credit = event_burst_ns;
	}
	if (credit < event_cost_ns) {
		b->credit_ns = credit;
		stat_inc(VXT_STAT_EVENTS_LIMITED);
		return false;
	}
	b->credit_ns = credit - event_cost_ns;
	return true;
}

/* The cause and check of the drop site holding `location`: a binary search of the sorted
 * table. Only scalars leave it, so the verifier's paths through the search all merge. */
static __always_inline bool find_site(__u64 location, __u8 *cause, __u8 *check)
{
	__u32 lo = 0, hi = nr_drop_sites, mid;

	if (hi > VXT_MAX_SITES)
		hi = VXT_MAX_SITES;
	for (int i = 0; i < 7 && lo < hi; i++) { /* 2^7 > VXT_MAX_SITES */
		mid = (lo + hi) / 2;
		if (mid >= VXT_MAX_SITES)
			return false;
		if (location < drop_sites[mid].start) {
			hi = mid;
		} else if (location >= drop_sites[mid].end) {
			lo = mid + 1;
		} else {
			*cause = drop_sites[mid].cause;
			*check = drop_sites[mid].check;
			return true;
		}
	}
	return false;
}

/* The kernel's software checksum ran on this skb and failed: __skb_checksum_complete()
 * leaves exactly this triple. csum_complete_sw alone is not enough: it outlives a check of
 * the outer header through decapsulation (seen on 5.10: good inner datagrams freed for a
 * full socket buffer still carried it, with CHECKSUM_NONE and csum_valid clear). */
static __always_inline bool l4_csum_failed(struct sk_buff *skb)
{
	return BPF_CORE_READ_BITFIELD(skb, ip_summed) == 2 /* CHECKSUM_COMPLETE */ &&
	       BPF_CORE_READ_BITFIELD(skb, csum_complete_sw) &&
	       !BPF_CORE_READ_BITFIELD(skb, csum_valid);
}

/* The IPv4 header at the network header does not sum to 0xffff. The sum is branch-free
 * (i < n is the top bit of i - n): a branch per word gave the verifier 2^30 paths. */
static __always_inline bool ip_csum_bad(struct sk_buff *skb)
{
	__u16 words[30]; /* the longest header: IHL 15 */
	__u32 sum = 0, n;

	if (bpf_probe_read_kernel(words, sizeof(words), skb->head + skb->network_header))
		return false;
	n = (words[0] & 0x0f) * 2; /* IHL, in 16-bit words (version|IHL is the first byte) */
	if (n < 10)
		return false;
#pragma unroll
	for (__u32 i = 0; i < 30; i++) {
		__u32 in_header = (i - n) >> 31;

		asm volatile("" : "+r"(in_header)); /* or clang makes it a branch again */
		sum += words[i] * in_header;
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum != 0xffff;
}

/* The address of __per_cpu_offset[], where each CPU's copy of every per-CPU variable lives
 * (5.10's BTF has no per-CPU variables for bpf_this_cpu_ptr). Set by the loader, only where
 * it is needed: a __ksym extern would make libbpf read all of /proc/kallsyms at every load
 * (+60 ms of start-up, measured). */
const volatile __u64 per_cpu_offset_addr = 0;

/* rp_filter's only trace before Linux 5.17: ip_rcv_finish_core counts LINUX_MIB_IPRPFILTER
 * on this CPU and frees the packet, where other route failures free it without counting.
 * vxt_rx_snapshot notes this CPU's count as each packet arrives; a drop at that site is
 * rp_filter's exactly when the count moved since. Packets of one receive batch all arrive
 * before the first is routed, so the note is moved on at each drop. */
struct rpf_snapshot {
	__u64 net; /* struct net * the count belongs to */
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rpf_snapshot);
} rpf_snapshots SEC(".maps");

/* This CPU's LINUX_MIB_IPRPFILTER count in `net`. */
static __always_inline bool rpf_count(struct net *net, __u64 *count)
{
	__u64 base = per_cpu_offset_addr, off;
	__u32 cpu = bpf_get_smp_processor_id();
	void *mib;

	if (!mib_rpfilter || !base ||
	    bpf_probe_read_kernel(&off, sizeof(off), (void *)(base + (__u64)cpu * 8)))
		return false;
	mib = BPF_CORE_READ(net, mib.net_statistics);
	return mib && !bpf_probe_read_kernel(count, sizeof(*count),
					     (char *)mib + off + (__u64)mib_rpfilter * 8);
}

static __always_inline bool rpf_counted(struct sk_buff *skb)
{
	struct net_device *dev = skb_dev(skb);
	struct rpf_snapshot *s;
	__u32 zero = 0;
	struct net *net;
	__u64 n;
	bool moved;

	s = bpf_map_lookup_elem(&rpf_snapshots, &zero);
	if (!s || !dev)
		return false;
	net = dev->nd_net.net;
	if (s->net != (__u64)net || !rpf_count(net, &n))
		return false;
	moved = n > s->count;
	s->count = n;
	return moved;
}

/* The cause of a drop the reason cannot name, from the function that freed the packet;
 * `fallback` when no site holds it or the site cannot prove its cause for this packet. */
static __always_inline __u8 cause_by_site(struct sk_buff *skb, __u64 location, __u8 fallback)
{
	__u8 cause, check;
	bool proven;

	if (!find_site(location, &cause, &check))
		return fallback;
	switch (check) {
	case VXT_SITE_CHECK_NONE:
		proven = true;
		break;
	case VXT_SITE_CHECK_L4_CSUM:
		proven = l4_csum_failed(skb);
		break;
	case VXT_SITE_CHECK_IP_CSUM:
		proven = ip_csum_bad(skb);
		break;
	case VXT_SITE_CHECK_RPFILTER_MIB:
		proven = rpf_counted(skb);
		break;
	default:
		proven = false;
	}
	return proven ? cause : fallback;
}

/* kfree_skb sees every netns on the kernel: with nodes in namespaces (kind), another node's
 * drop is not this node's. A joined drop passed this node's tc hook; one parsed from its outer
 * header is ours when addressed to us. */
static __always_inline bool addressed_here(const struct vxt_tunnel *tun)
{
	__u32 local = tun->local, zero = 0, gen;
	struct node_addr_hit *hit;
	bool ours;

	if (tun->source == VXT_TUNNEL_JOINED || !node_addrs_known)
		return true;
	gen = *(volatile __u32 *)&node_addrs_gen; /* read before the lookup it vouches for */
	hit = bpf_map_lookup_elem(&node_addr_cache, &zero);
	if (hit && hit->addr == local && hit->gen == gen)
		return true;
	ours = bpf_map_lookup_elem(&node_addrs, &local) != NULL;
	if (ours && hit) {
		hit->addr = local;
		hit->gen = gen;
	}
	return ours;
}

static __always_inline int handle_drop(void *ctx, struct sk_buff *skb, void *location, __u32 reason,
				       struct sock *rx_sk)
{
	__u32 slot = reason < VXT_MAX_REASONS ? reason : VXT_REASON_OVERFLOW;
	__u8 ct, cause;
	struct vxt_flow flow = {};
	struct vxt_tunnel tun = {};

	asm volatile("" : "+r"(slot)); /* keep the bound check where the verifier sees it */
	if (slot >= VXT_MAX_REASONS)
		return 0;
	cause = reason_cause[slot];
	if (cause & VXT_CAUSE_BY_SITE)
		cause = cause_by_site(skb, (__u64)location, cause & VXT_CAUSE_MASK);
	/* A netfilter drop stays `netfilter` here: whether it was conntrack's verdict (a rule
	 * matching ct state INVALID) only the rule says, and the loader reads the rules. */
	if (cause >= VXT_CAUSE_COUNT)
		cause = VXT_CAUSE_OTHER;
	count_u64(&drop_counts, vxt_drop_slot(slot, cause));
	if (!(parse_causes & (1u << cause)))
		return 0;

	resolve_drop(skb, &flow, &tun);
	/* Background frees (TCP discarding ACKs at teardown, NOT_SPECIFIED) would inflate a
	 * sending node's drop ratio without meaning loss: they are never attributed. */
	if (tun.source != VXT_TUNNEL_NONE && cause != VXT_CAUSE_BACKGROUND) {
		if (addressed_here(&tun))
			count_peer_drop(tun.peer, cause);
		else
			stat_inc(VXT_STAT_PEER_DROPS_ELSEWHERE);
	}
	if (!(stream_causes & (1u << cause)) || !take_event_token())
		return 0;
	ct = ct_state_of(skb);
	emit_drop(ctx, skb, rx_sk, location, reason, cause, ct, &flow, &tun);
	return 0;
}

/* One program per tracepoint prototype; the loader autoloads the one the kernel has.
 * Linux >= 6.12 passes the receiving socket: the only netns left for a drop after
 * tcp_v4_rcv cleared skb->dev. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(vxt_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	return handle_drop(ctx, skb, location, reason, rx_sk);
}

/* Linux 5.17 - 6.11: a reason, no socket. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(vxt_kfree_skb_no_rx_sk, struct sk_buff *skb, void *location,
	     enum skb_drop_reason reason)
{
	return handle_drop(ctx, skb, location, reason, NULL);
}

/* Before 5.17 the kernel gives no reason: reason 0 stands for "not specified", and the
 * drop site table (reason_cause[0] has VXT_CAUSE_BY_SITE) names the cause. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(vxt_kfree_skb_no_reason, struct sk_buff *skb, void *location)
{
	return handle_drop(ctx, skb, location, 0, NULL);
}

/* Loaded only where the kernel names no drop reason: see struct rpf_snapshot. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(vxt_rx_snapshot, struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	struct rpf_snapshot *s;
	__u32 zero = 0;
	struct net *net;
	__u64 n;

	s = bpf_map_lookup_elem(&rpf_snapshots, &zero);
	if (!s || !dev)
		return 0;
	net = dev->nd_net.net;
	if (rpf_count(net, &n)) {
		s->net = (__u64)net;
		s->count = n;
	}
	return 0;
}
