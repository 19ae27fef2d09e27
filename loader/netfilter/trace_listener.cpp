#include "netfilter/trace_listener.hpp"

// netinet/in.h before linux/netfilter.h, which pulls in linux/in.h otherwise.
#include <netinet/in.h>
//
#include <libmnl/libmnl.h>
#include <libnftnl/trace.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "netfilter/nft_rule.hpp"

namespace vxt::nf {
namespace {

// A trace storm loses traces, never the events: the buffer only bounds how many are named.
constexpr int kReceiveBuffer = 8 << 20;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The trace's copy of the IPv4 header (and of the transport header's first bytes).
std::optional<PacketKey> packet_of(const nftnl_trace* t) {
  uint32_t len = 0;
  const auto* ip =
      static_cast<const uint8_t*>(nftnl_trace_get_data(t, NFTNL_TRACE_NETWORK_HEADER, &len));
  if (!ip || len < 20 || (ip[0] >> 4) != 4) return std::nullopt;
  PacketKey k;
  k.ip_id = be16(ip + 4);
  k.proto = ip[9];
  std::memcpy(&k.src, ip + 12, 4);
  std::memcpy(&k.dst, ip + 16, 4);
  const auto* l4 =
      static_cast<const uint8_t*>(nftnl_trace_get_data(t, NFTNL_TRACE_TRANSPORT_HEADER, &len));
  if (l4 && len >= 4) {
    if (k.proto == IPPROTO_TCP || k.proto == IPPROTO_UDP) {
      k.sport = be16(l4);
      k.dport = be16(l4 + 2);
    } else if (k.proto == IPPROTO_ICMP) {
      k.sport = be16(l4);  // type << 8 | code
    }
  }
  return k;
}

// A rule's verdict drop, or a base chain's policy drop: the verdicts that end a packet.
bool is_drop(const nftnl_trace* t) {
  switch (nftnl_trace_get_u32(t, NFTNL_TRACE_TYPE)) {
    case NFT_TRACETYPE_RULE:
      return nftnl_trace_is_set(t, NFTNL_TRACE_VERDICT) &&
             nftnl_trace_get_u32(t, NFTNL_TRACE_VERDICT) == NF_DROP;
    case NFT_TRACETYPE_POLICY:
      return nftnl_trace_is_set(t, NFTNL_TRACE_POLICY) &&
             nftnl_trace_get_u32(t, NFTNL_TRACE_POLICY) == NF_DROP;
    default: return false;
  }
}

int on_trace(const nlmsghdr* nlh, void* data) {
  if (auto m = parse_trace(nlh)) static_cast<std::vector<TraceMessage>*>(data)->push_back(*m);
  return MNL_CB_OK;
}

}  // namespace

std::optional<TraceMessage> parse_trace(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type & 0xFF) != NFT_MSG_TRACE) return std::nullopt;
  std::unique_ptr<nftnl_trace, void (*)(const nftnl_trace*)> t(nftnl_trace_alloc(),
                                                               nftnl_trace_free);
  if (!t || nftnl_trace_nlmsg_parse(nlh, t.get()) < 0 ||
      !nftnl_trace_is_set(t.get(), NFTNL_TRACE_ID))
    return std::nullopt;
  TraceMessage m{nftnl_trace_get_u32(t.get(), NFTNL_TRACE_ID), packet_of(t.get()), std::nullopt};
  if (is_drop(t.get()) && nftnl_trace_is_set(t.get(), NFTNL_TRACE_TABLE) &&
      nftnl_trace_is_set(t.get(), NFTNL_TRACE_CHAIN)) {
    DropTrace d{{},
                std::string(family_name(nftnl_trace_get_u32(t.get(), NFTNL_TRACE_FAMILY))),
                nftnl_trace_get_str(t.get(), NFTNL_TRACE_TABLE),
                nftnl_trace_get_str(t.get(), NFTNL_TRACE_CHAIN),
                0};
    if (nftnl_trace_get_u32(t.get(), NFTNL_TRACE_TYPE) == NFT_TRACETYPE_RULE)
      d.handle = nftnl_trace_get_u64(t.get(), NFTNL_TRACE_RULE_HANDLE);
    m.drop = std::move(d);
  }
  return m;
}

Result<std::unique_ptr<TraceListener>> TraceListener::open() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!nl) return errno_error("nfnetlink socket", errno);
  std::unique_ptr<TraceListener> l(new TraceListener(nl));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) return errno_error("nfnetlink bind", errno);
  int group = NFNLGRP_NFTRACE;
  if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
    return errno_error("joining nftables' trace group", errno);
  int size = kReceiveBuffer;
  // Without CAP_NET_ADMIN the plain limit (rmem_max) applies: fewer traces, nothing wrong.
  if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  return l;
}

TraceListener::~TraceListener() { mnl_socket_close(nl_); }

std::vector<DropTrace> TraceListener::read(bool& lost) {
  std::vector<TraceMessage> messages;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0 && errno == ENOBUFS) {
      lost = true;
      continue;
    }
    if (n <= 0) break;  // EAGAIN: all read
    mnl_cb_run(buf.data(), n, 0, 0, on_trace, &messages);
  }
  std::vector<DropTrace> out;
  for (auto& m : messages) {
    if (m.packet) {
      if (packets_.size() >= kPacketsKept) packets_.clear();
      packets_[m.id] = *m.packet;
    }
    if (!m.drop) continue;
    // The kernel copies a packet's headers into the first trace of each chain it passes.
    auto p = m.packet;
    if (!p)
      if (auto it = packets_.find(m.id); it != packets_.end()) p = it->second;
    if (!p) continue;
    m.drop->packet = *p;
    out.push_back(std::move(*m.drop));
    packets_.erase(m.id);  // a dropped packet is traced no more
  }
  return out;
}

}  // namespace vxt::nf
