/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Packet parsing shared by the tc programs (reading a __sk_buff) and the kfree_skb
 * program (reading a kernel sk_buff's memory). `kernel` is a literal at every call
 * site, so after inlining each program keeps only its own reader. */
#ifndef VXTRACE_PACKET_BPF_H
#define VXTRACE_PACKET_BPF_H

#include "vxtrace/abi.h"

#define ETH_HLEN       14
#define ETH_P_IP       0x0800
#define IPPROTO_ICMP   1
#define IPPROTO_TCP    6
#define IPPROTO_UDP    17
#define VXLAN_HLEN     8
#define VXLAN_FLAG_VNI 0x08 /* "I" flag: the VNI field is valid */
#define UDP_HLEN       8
#define UDP_LEN_OFF    4  /* struct udphdr.len */
#define TCP_FLAGS_OFF  13 /* the byte after data offset: FIN SYN RST PSH ACK URG ECE CWR */
#define ICMP_ECHO_HLEN 6  /* type, code, checksum, identifier */
#define ICMP_ID_OFF    4

/* kfree_skb reads the dropped packet's headers once, in one bpf_probe_read_kernel() of this
 * many bytes (outer IPv4+UDP+VXLAN, inner Ethernet+IPv4+L4 when both IHLs are 5), instead of
 * one helper call per header; bytes beyond it are read one by one as before. */
#define PKT_KBUF_LEN 96

/* The copy lives in a per-CPU map value, not on the stack: verifiers before 5.12 reject a
 * stack read at a variable offset (every header after an IHL is one), while a map value
 * may be indexed by any bounded offset. Offsets are masked to PKT_KBUF_MASK right where they
 * index, so the bound is the verifier's own, whatever clang did to the check before. */
#define PKT_KBUF_MASK  127
#define PKT_SCRATCH_SZ 256 /* > PKT_KBUF_MASK + the longest single load */

struct pkt_scratch {
	unsigned char buf[PKT_SCRATCH_SZ];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pkt_scratch);
} pkt_scratch SEC(".maps");

struct pkt_reader {
	struct __sk_buff *skb;	    /* tc */
	const unsigned char *kbase; /* kfree_skb: skb->head + network_header */
	unsigned char *kbuf;	    /* kfree_skb: this CPU's scratch, never NULL when used */
	bool kbuf_ok;		    /* kbuf holds PKT_KBUF_LEN bytes copied from kbase */
	/* Offset where the packet's bytes end: skb->len (tc), the linear bytes after the network
	 * header (kfree_skb), narrowed by each IPv4 total length and the UDP length as they are
	 * parsed. Nothing past it is read: a buffer holds stale bytes of an earlier packet there.
	 */
	__u32 end;
};

/* kfree_skb: copy the first PKT_KBUF_LEN bytes at kbase into this CPU's scratch. Returns
 * false when there is no scratch (never, in practice); when only the copy fails (the bytes
 * straddle unreadable memory) every header is read on its own instead. */
static __always_inline bool pkt_prefetch(struct pkt_reader *r)
{
	__u32 zero = 0;
	struct pkt_scratch *s = bpf_map_lookup_elem(&pkt_scratch, &zero);

	if (!s)
		return false;
	r->kbuf = s->buf;
	r->kbuf_ok = bpf_probe_read_kernel(s->buf, PKT_KBUF_LEN, r->kbase) == 0;
	return true;
}

/* A parsed packet: the outer flow, and for VXLAN to our port the VNI and inner flow. */
struct vxt_parsed {
	struct vxt_flow outer;
	struct vxt_flow inner;
	__u32 vni;
	__u8 is_vxlan;
};

/* The same bytes either way: from the prefetched buffer / the skb's linear data when they
 * lie inside it, else through the helper (which also handles paged skb data). */
static __always_inline int pkt_load(const struct pkt_reader *r, bool kernel, __u32 off, void *dst,
				    __u32 len)
{
	if (off > r->end || len > r->end - off)
		return -1;
	if (kernel) {
		if (r->kbuf_ok && off <= PKT_KBUF_LEN - len) {
			asm volatile(""
				     : "+r"(off)); /* keep the mask: it is the verifier's bound */
			__builtin_memcpy(dst, r->kbuf + (off & PKT_KBUF_MASK), len);
			return 0;
		}
		return bpf_probe_read_kernel(dst, len, r->kbase + off);
	}
	if (off <= 256) {
		const unsigned char *data = (const unsigned char *)(long)r->skb->data;
		const unsigned char *end = (const unsigned char *)(long)r->skb->data_end;

		if (data + off + len <= end) {
			__builtin_memcpy(dst, data + off, len);
			return 0;
		}
	}
	return bpf_skb_load_bytes(r->skb, off, dst, len);
}

struct l4_ports {
	__be16 source;
	__be16 dest;
};

/* IPv4 header and the first L4 bytes at `off`; returns the L4 offset, or 0. */
static __always_inline __u32 parse_ipv4(struct pkt_reader *r, bool kernel, __u32 off,
					struct vxt_flow *f)
{
	struct iphdr ip;
	__u32 l4;

	if (pkt_load(r, kernel, off, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5 ||
	    bpf_ntohs(ip.tot_len) < ip.ihl * 4)
		return 0;
	if (off + bpf_ntohs(ip.tot_len) < r->end) /* bytes after tot_len are not this packet */
		r->end = off + bpf_ntohs(ip.tot_len);
	f->saddr = ip.saddr;
	f->daddr = ip.daddr;
	f->proto = ip.protocol;
	f->ip_id = ip.id;
	f->valid = 1;
	l4 = off + ip.ihl * 4;
	if (ip.frag_off & bpf_htons(0x1fff)) /* a later fragment carries no L4 header */
		return 0;

	if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) {
		struct l4_ports p;

		if (pkt_load(r, kernel, l4, &p, sizeof(p)))
			return 0;
		f->sport = p.source;
		f->dport = p.dest;
		if (ip.protocol == IPPROTO_TCP)
			pkt_load(r, kernel, l4 + TCP_FLAGS_OFF, &f->tcp_flags, 1);
	} else if (ip.protocol == IPPROTO_ICMP) {
		__u8 icmp[ICMP_ECHO_HLEN];

		if (pkt_load(r, kernel, l4, icmp, sizeof(icmp)))
			return 0;
		f->sport = (__u16)icmp[0] << 8 | icmp[1]; /* type, code */
		__builtin_memcpy(&f->dport, &icmp[ICMP_ID_OFF], 2);
	}
	return l4;
}

/* IPv4 at `off`, and when it is UDP to `vxlan_port` (network order), the VXLAN header and
 * the inner Ethernet/IPv4 packet. Returns 0 when no IPv4 header parsed. */
static __always_inline int parse_packet(struct pkt_reader *r, bool kernel, __u32 off,
					__be16 vxlan_port, struct vxt_parsed *p)
{
	__u32 l4 = parse_ipv4(r, kernel, off, &p->outer);
	struct {
		__u8 flags;
		__u8 reserved[3];
		__be32 vni;
		__u8 eth_dst[6];
		__u8 eth_src[6];
		__be16 eth_proto;
	} vx;
	__be16 udp_len;

	if (!p->outer.valid)
		return 0;
	if (!l4 || p->outer.proto != IPPROTO_UDP || p->outer.dport != vxlan_port)
		return 1;
	p->is_vxlan = 1;
	if (pkt_load(r, kernel, l4 + UDP_LEN_OFF, &udp_len, sizeof(udp_len)) ||
	    bpf_ntohs(udp_len) < UDP_HLEN)
		return 1;
	if (l4 + bpf_ntohs(udp_len) < r->end) /* the VXLAN payload ends with the datagram */
		r->end = l4 + bpf_ntohs(udp_len);
	if (pkt_load(r, kernel, l4 + UDP_HLEN, &vx, sizeof(vx)))
		return 1;
	p->vni = bpf_ntohl(vx.vni) >> 8;
	if (!(vx.flags & VXLAN_FLAG_VNI) || vx.eth_proto != bpf_htons(ETH_P_IP))
		return 1;
	parse_ipv4(r, kernel, l4 + UDP_HLEN + VXLAN_HLEN + ETH_HLEN, &p->inner);
	return 1;
}

static __always_inline void flow_key(const struct vxt_flow *f, struct vxt_flow_key *k)
{
	k->saddr = f->saddr;
	k->daddr = f->daddr;
	k->sport = f->sport;
	k->dport = f->dport;
	k->ip_id = f->ip_id;
	k->proto = f->proto;
	k->pad = 0;
}

#endif
