#include "drop_record.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <ctime>

#include "cause_table.hpp"
#include "net_format.hpp"

namespace vxt {
namespace {

std::string_view ct_state_name(uint8_t s) {
  switch (s) {
    case VXT_CT_NONE: return "none";
    case VXT_CT_UNTRACKED: return "untracked";
    case VXT_CT_NEW: return "new";
    case VXT_CT_CONFIRMED: return "confirmed";
    default: return "unknown";
  }
}

std::string_view netns_source_name(uint8_t s) {
  switch (s) {
    case VXT_NETNS_DEVICE: return "device";
    case VXT_NETNS_SOCKET: return "socket";
    case VXT_NETNS_TASK: return "task";
    default: return "unknown";
  }
}

std::string_view rx_csum_name(uint8_t v) {
  switch (v) {
    case VXT_RX_CSUM_UNNECESSARY: return "unnecessary";
    case VXT_RX_CSUM_SOFTWARE: return "software";
    default: return "unknown";
  }
}

FlowRecord decode_flow(const vxt_flow& f) {
  FlowRecord r;
  r.src = ipv4_string(f.saddr);
  r.dst = ipv4_string(f.daddr);
  r.proto = proto_name(f.proto);
  if (f.proto == 1) {  // ICMP: sport carries type << 8 | code in host order
    r.sport = f.sport;
    r.dport = ntohs(f.dport);
  } else {
    r.sport = ntohs(f.sport);
    r.dport = ntohs(f.dport);
  }
  if (f.proto == 6) r.tcp_flags = tcp_flags_string(f.tcp_flags);
  return r;
}

}  // namespace

DropRecord EventDecoder::decode(const vxt_drop_event& e) const {
  DropRecord r;
  r.ts_unix_ns = static_cast<int64_t>(e.hdr.ts_ns) + mono_to_unix_ns_;
  r.cpu = e.hdr.cpu;
  r.cause = cause_name(e.cause);
  r.reason = reasons_.name(e.reason);
  r.location = syms_.symbolize(e.location);
  r.ifname.assign(e.ifname, strnlen(e.ifname, sizeof(e.ifname)));
  r.ifindex = e.ifindex;
  r.netns = e.netns;
  r.netns_source = netns_source_name(e.netns_source);
  r.len = e.pkt_len;
  r.ct_state = ct_state_name(e.ct_state);
  if (e.flow.valid) r.flow = decode_flow(e.flow);
  if (e.tunnel.source != VXT_TUNNEL_NONE) {
    r.tunnel = TunnelRecord{ipv4_string(e.tunnel.peer), ipv4_string(e.tunnel.local), e.tunnel.vni,
                            e.tunnel.source == VXT_TUNNEL_OUTER ? "outer" : "joined",
                            std::string(rx_csum_name(e.tunnel.rx_csum))};
  }
  return r;
}

int64_t monotonic_to_unix_offset_ns() {
  timespec real{}, mono{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
}

}  // namespace vxt
