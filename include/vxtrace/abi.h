/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event ABI shared by the BPF programs and the C++ loader: defined once, here.
 *
 * Fixed-width types only, padding written as fields, sizes and offsets asserted on both
 * sides. Addresses and ports are kept in network byte order exactly as read from the
 * packet, so neither side converts by accident; userspace formats them.
 */
#ifndef VXTRACE_ABI_H
#define VXTRACE_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define VXT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define VXT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Bumped on any layout change; the loader refuses an object built for another version. */
#define VXT_ABI_VERSION 7

/* skb_drop_reason values below this are counted one by one; larger ones (subsystem
 * reasons carry the subsystem in the upper 16 bits) share the last slot. */
#define VXT_MAX_REASONS	    512
#define VXT_REASON_OVERFLOW (VXT_MAX_REASONS - 1)

#define VXT_IFNAMSIZ 16

/* Why a packet died, as vxtrace names it. The mapping from kernel reasons lives in
 * loader/cause_table.cpp; BPF only refines NETFILTER_DROP by conntrack state. */
enum vxt_cause {
	VXT_CAUSE_OTHER = 0, /* zero so an unfilled table entry means "other" */
	VXT_CAUSE_CHECKSUM = 1,
	VXT_CAUSE_RP_FILTER = 2,
	VXT_CAUSE_CONNTRACK = 3,
	VXT_CAUSE_NETFILTER = 4,
	VXT_CAUSE_VXLAN = 5,
	VXT_CAUSE_BACKGROUND = 6, /* constant noise (NOT_SPECIFIED, QUEUE_PURGE): counted only */
	VXT_CAUSE_COUNT = 7,
};

/* Set in a reason_cause entry: the reason alone does not tell (NOT_SPECIFIED, or a kernel
 * without drop reasons), so the function that freed the packet decides, through the drop
 * site table below; the low bits are the cause when no site matches or confirms. */
#define VXT_CAUSE_BY_SITE 0x80
#define VXT_CAUSE_MASK	  0x7f

/* How a drop site proves its cause from the packet before it is believed: one kernel
 * function frees packets for several reasons (udp_queue_rcv_one_skb: a bad checksum, a
 * full socket buffer, a filter), and a cause must never be a guess. */
enum vxt_site_check {
	VXT_SITE_CHECK_NONE = 0,    /* every drop in this function is of this cause */
	VXT_SITE_CHECK_L4_CSUM = 1, /* the kernel's software checksum ran and failed */
	VXT_SITE_CHECK_IP_CSUM = 2, /* the IPv4 header checksum is wrong */
	/* This CPU's LINUX_MIB_IPRPFILTER moved since the packet arrived: the kernel counts an
	 * rp_filter verdict right before it frees the packet (Linux < 5.17 names no reason). */
	VXT_SITE_CHECK_RPFILTER_MIB = 3,
};

/* One kernel function that frees packets: [start, end) of its text. The loader fills a
 * table of these, sorted by start, from /proc/kallsyms and loader/drop_sites.cpp. */
#define VXT_MAX_SITES 64
struct vxt_drop_site {
	__u64 start;
	__u64 end;
	__u8 cause; /* enum vxt_cause */
	__u8 check; /* enum vxt_site_check */
	__u8 pad[6];
};
VXT_STATIC_ASSERT(sizeof(struct vxt_drop_site) == 24, "vxt_drop_site layout");

enum vxt_event_type {
	VXT_EVENT_DROP = 1,
	VXT_EVENT_DROP_CAPTURE = 2, /* struct vxt_drop_capture: the drop and its packet's bytes */
};

/* Where a drop event's tunnel came from. */
enum vxt_tunnel_source {
	VXT_TUNNEL_NONE = 0,
	VXT_TUNNEL_OUTER = 1,  /* the dropped packet itself is VXLAN-encapsulated */
	VXT_TUNNEL_JOINED = 2, /* inner packet joined to what tc ingress saw */
};

/* Conntrack state of the dropped skb (skb->_nfct). */
enum vxt_ct_state {
	VXT_CT_NONE = 0,      /* no entry: INVALID, table full, or conntrack not in the path */
	VXT_CT_UNTRACKED = 1, /* NOTRACK */
	VXT_CT_NEW = 2,	      /* entry not yet confirmed */
	VXT_CT_CONFIRMED = 3,
	VXT_CT_UNKNOWN = 4, /* kernel without conntrack fields */
};

/* Where a drop event's netns came from, most trustworthy first. */
enum vxt_netns_source {
	VXT_NETNS_UNKNOWN = 0,
	VXT_NETNS_DEVICE = 1, /* skb->dev */
	VXT_NETNS_SOCKET = 2, /* skb->sk, or the receiving socket the tracepoint passes */
	/* The current task: only when the skb names neither, i.e. a socket checking a
	 * checksum at read time, which runs in the receiving process. */
	VXT_NETNS_TASK = 3,
};

/* The NIC's checksum verdict at tc ingress (bpf_csum_level query). */
enum vxt_rx_csum {
	VXT_RX_CSUM_UNKNOWN = 0,     /* not seen at ingress */
	VXT_RX_CSUM_UNNECESSARY = 1, /* the device vouched for it: the kernel will not check */
	VXT_RX_CSUM_SOFTWARE = 2,    /* CHECKSUM_NONE or COMPLETE: the kernel verifies */
};

/* Counters about vxtrace itself, one slot each in the per-CPU `stats` map. */
enum vxt_stat {
	VXT_STAT_LOST_EVENTS = 0,      /* ring buffer full: event dropped, totals still exact */
	VXT_STAT_EVENTS = 1,	       /* events submitted */
	VXT_STAT_TC_UNDERLAY_PKTS = 2, /* packets seen by the underlay program */
	VXT_STAT_TC_VXLAN_PKTS = 3,    /* of those, VXLAN to our port */
	VXT_STAT_TC_MALFORMED = 4,     /* VXLAN to our port that did not parse */
	VXT_STAT_TC_OVERLAY_PKTS = 5,  /* packets seen on the VXLAN device */
	VXT_STAT_PEER_MAP_FULL =
		6,		/* a new peer did not fit: its packets are not counted per peer */
	VXT_STAT_JOIN_HITS = 7, /* drops joined to their tunnel */
	VXT_STAT_DROPS_PARSED = 8,    /* drops whose packet was parsed */
	VXT_STAT_JOIN_OTHER_CPU = 9,  /* joins found in another CPU's array, not this one's */
	VXT_STAT_EVENTS_LIMITED = 10, /* streamed cause, but over --bpf-event-rate: counted only */
	/* VXLAN dropped in another node's netns on this kernel (kind, netns labs): not ours, so
	 * not counted against the sending peer */
	VXT_STAT_PEER_DROPS_ELSEWHERE = 11,
	VXT_STAT_COUNT = 12,
};

/* An IPv4 flow. Addresses and ports in network byte order. */
struct vxt_flow {
	__u32 saddr;
	__u32 daddr;
	__u16 sport; /* for ICMP: type << 8 | code, host order */
	__u16 dport; /* for ICMP: echo id, network order */
	__u16 ip_id; /* network order */
	__u8 proto;
	__u8 tcp_flags;
	__u8 valid; /* a parsed IPv4 header is behind this */
	__u8 pad[3];
};
VXT_STATIC_ASSERT(sizeof(struct vxt_flow) == 20, "vxt_flow layout");

/* Key of the tunnel join: the inner packet's identity. Works on every kernel, and a
 * recycled skb cannot match another packet by accident. */
struct vxt_flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u16 ip_id;
	__u8 proto;
	__u8 pad;
};
VXT_STATIC_ASSERT(sizeof(struct vxt_flow_key) == 16, "vxt_flow_key layout");

struct vxt_tunnel {
	__u32 peer;  /* outer source: the sending node's underlay address */
	__u32 local; /* outer destination */
	__u32 vni;   /* host order */
	__u16 outer_sport;
	__u8 source;   /* enum vxt_tunnel_source */
	__u8 rx_csum;  /* enum vxt_rx_csum */
	__u32 ifindex; /* underlay device it arrived on */
};
VXT_STATIC_ASSERT(sizeof(struct vxt_tunnel) == 20, "vxt_tunnel layout");

/* This node's IPv4 addresses (node_addrs map): a drop parsed from its outer header counts
 * against the sending peer only when addressed to one of them. */
#define VXT_MAX_NODE_ADDRS 256

/* One slot of the tunnel join (bpf/tunnel_join.bpf.h): per-CPU direct-mapped arrays
 * indexed by a hash of the inner identity. 64 bytes, so a slot never straddles two cache
 * lines. */
#define VXT_JOIN_SLOTS_DEFAULT 4096 /* per CPU; a power of two */
struct vxt_join_slot {
	__u64 seq; /* odd while being written; 0: never written */
	struct vxt_flow_key key;
	struct vxt_tunnel tunnel;
	__u8 pad[20];
};
VXT_STATIC_ASSERT(sizeof(struct vxt_join_slot) == 64, "vxt_join_slot layout");

static inline __u64 vxt_flow_key_lo(const struct vxt_flow_key *k)
{
	return (__u64)k->saddr << 32 | k->daddr;
}

static inline __u64 vxt_flow_key_hi(const struct vxt_flow_key *k)
{
	return (__u64)k->sport << 48 | (__u64)k->dport << 32 | (__u64)k->ip_id << 16 |
	       (__u64)k->proto << 8 | k->pad;
}

/* A flow's packets carry consecutive IP IDs, so they go to consecutive slots: a burst
 * writes memory in sequence (same pages, prefetched lines) instead of at random, and a
 * flow keeps its last `slots` packets. ip_id is in network order (bpfel and x86 hosts). */
static inline __u32 vxt_join_hash(const struct vxt_flow_key *k)
{
	__u64 flow =
		((__u64)k->saddr << 32 | k->daddr) * 0x9E3779B97F4A7C15ull ^
		((__u64)k->sport << 24 | (__u64)k->dport << 8 | k->proto) * 0xC2B2AE3D27D4EB4Full;

	return (__u32)(flow >> 32) + __builtin_bswap16(k->ip_id);
}

/* Common header first in every event, so a reader can dispatch and skip. */
struct vxt_event_header {
	__u16 type; /* enum vxt_event_type */
	__u16 size; /* bytes, header included */
	__u32 cpu;
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};
VXT_STATIC_ASSERT(sizeof(struct vxt_event_header) == 16, "vxt_event_header layout");

struct vxt_drop_event {
	struct vxt_event_header hdr;
	__u64 location; /* kernel text address of the kfree_skb_reason() caller */
	__u32 reason;	/* raw enum skb_drop_reason value of the running kernel */
	__u32 netns;	/* inode of the network namespace the drop happened in */
	__u32 ifindex;	/* skb->dev, else skb->skb_iif */
	__u32 pkt_len;
	__u8 cause;	   /* enum vxt_cause */
	__u8 ct_state;	   /* enum vxt_ct_state */
	__u8 netns_source; /* enum vxt_netns_source */
	__u8 pad[5];
	char ifname[VXT_IFNAMSIZ]; /* empty when skb->dev was already cleared */
	struct vxt_flow flow;	   /* inner flow when tunnelled, else the packet's own */
	struct vxt_tunnel tunnel;
};
VXT_STATIC_ASSERT(sizeof(struct vxt_drop_event) == 104, "vxt_drop_event layout");
VXT_STATIC_ASSERT(__builtin_offsetof(struct vxt_drop_event, flow) == 64, "flow offset");
VXT_STATIC_ASSERT(__builtin_offsetof(struct vxt_drop_event, tunnel) == 84, "tunnel offset");

/* With --pcap/--filter (the packet's first bytes from its network header: the outer IPv4
 * header while still encapsulated, linear data only) or --stack (the kernel stack of the
 * drop): a drop event and that evidence. */
#define VXT_CAPTURE_MAX 1536
#define VXT_STACK_MAX	32
struct vxt_drop_capture {
	struct vxt_drop_event drop; /* drop.hdr.type = VXT_EVENT_DROP_CAPTURE */
	__u16 cap_len;		    /* bytes of data[] that are the packet's */
	__u16 stack_depth;	    /* entries of stack[] */
	__u16 pad[2];
	__u8 data[VXT_CAPTURE_MAX];
	__u64 stack[VXT_STACK_MAX]; /* kernel return addresses, innermost first */
};
VXT_STATIC_ASSERT(sizeof(struct vxt_drop_capture) == 112 + VXT_CAPTURE_MAX + 8 * VXT_STACK_MAX,
		  "vxt_drop_capture layout");

/* Per peer (outer source address), per CPU. */
struct vxt_peer_rx {
	__u64 packets; /* VXLAN packets to our port seen at underlay ingress */
	__u64 bytes;
	__u64 decapsulated; /* of those, seen again on the VXLAN device */
};
VXT_STATIC_ASSERT(sizeof(struct vxt_peer_rx) == 24, "vxt_peer_rx layout");

/* peer_slots, a per-CPU direct-mapped table of peers, is looked up before the peer_rx
 * hash: an inlined array access instead of a hash call on every packet. A slot belongs to
 * the first peer that hashed to it on that CPU; the others fall through to the hash, so a
 * peer's total is the sum over both maps and all CPUs. */
#define VXT_PEER_SLOTS_SHIFT 10
#define VXT_PEER_SLOTS	     (1u << VXT_PEER_SLOTS_SHIFT)
struct vxt_peer_slot {
	__u32 peer; /* 0: free */
	__u32 pad;
	struct vxt_peer_rx rx;
	__u64 drops[VXT_CAUSE_COUNT]; /* drops attributed to this peer, by cause */
};
VXT_STATIC_ASSERT(sizeof(struct vxt_peer_slot) == 32 + 8 * VXT_CAUSE_COUNT, "vxt_peer_slot layout");

static inline __u32 vxt_peer_slot_of(__u32 peer)
{
	return (peer * 0x9E3779B1u) >> (32 - VXT_PEER_SLOTS_SHIFT);
}

struct vxt_peer_drop_key {
	__u32 peer;
	__u32 cause;
};
VXT_STATIC_ASSERT(sizeof(struct vxt_peer_drop_key) == 8, "vxt_peer_drop_key layout");

/* drop_counts is a per-CPU array indexed by reason slot and cause. */
#define VXT_DROP_COUNT_SLOTS (VXT_MAX_REASONS * VXT_CAUSE_COUNT)
static inline __u32 vxt_drop_slot(__u32 reason_slot, __u32 cause)
{
	return reason_slot * VXT_CAUSE_COUNT + cause;
}

#endif /* VXTRACE_ABI_H */
