#include "decode/event_decoder.hpp"

#include <arpa/inet.h>

#include <array>
#include <atomic>
#include <cstring>
#include <ctime>

#include "decode/net_format.hpp"

namespace vxt {
namespace {

// Drops come from a handful of kernel call sites: symbolizing each address once (a binary
// search over ~100k symbols and a format) is enough. Per thread, so decode() stays safe to
// call concurrently; entries are tagged with the decoder that made them.
struct LocationSlot {
  uint64_t owner = 0, addr = 0;
  std::string text;
};
thread_local std::array<LocationSlot, 256> t_locations;
std::atomic<uint64_t> g_decoder_ids{0};

FlowRecord decode_flow(const vxt_flow& f) {
  FlowRecord r;
  r.src = f.saddr;
  r.dst = f.daddr;
  r.proto = f.proto;
  // ICMP: sport carries type << 8 | code in host order already.
  r.sport = f.proto == IPPROTO_ICMP ? f.sport : ntohs(f.sport);
  r.dport = ntohs(f.dport);
  if (f.proto == IPPROTO_TCP) r.tcp_flags = f.tcp_flags;
  r.ip_id = ntohs(f.ip_id);
  return r;
}

}  // namespace

EventDecoder::EventDecoder(const DropReasons& reasons, const Symbolizer& syms,
                           int64_t mono_to_unix_ns, uint16_t vxlan_port)
    : reasons_(reasons),
      syms_(syms),
      mono_to_unix_ns_(mono_to_unix_ns),
      vxlan_port_(vxlan_port),
      id_(++g_decoder_ids) {}

const std::string& EventDecoder::location(uint64_t addr) const {
  auto& slot = t_locations[(addr ^ addr >> 8 ^ addr >> 16) & (t_locations.size() - 1)];
  if (slot.owner != id_ || slot.addr != addr) {
    slot.text = syms_.symbolize(addr);
    slot.owner = id_;
    slot.addr = addr;
  }
  return slot.text;
}

DropRecord EventDecoder::decode(const vxt_drop_event& e, const DropEvidence& evidence) const {
  const auto packet = evidence.packet;
  DropRecord r;
  r.ts_unix_ns = static_cast<int64_t>(e.hdr.ts_ns) + mono_to_unix_ns_;
  r.cpu = e.hdr.cpu;
  r.cause = static_cast<Cause>(e.cause);
  r.reason = reasons_.name(e.reason);
  r.location = location(e.location);
  r.ifname = escape_bytes({e.ifname, strnlen(e.ifname, sizeof(e.ifname))});
  r.ifindex = e.ifindex;
  r.netns = e.netns;
  r.netns_source = static_cast<NetnsSource>(e.netns_source);
  r.len = e.pkt_len;
  r.ct_state = static_cast<CtState>(e.ct_state);
  if (e.flow.valid) r.flow = decode_flow(e.flow);
  if (e.tunnel.source != VXT_TUNNEL_NONE) {
    r.tunnel = TunnelRecord{e.tunnel.peer, e.tunnel.local, e.tunnel.vni,
                            static_cast<TunnelSource>(e.tunnel.source),
                            static_cast<RxCsum>(e.tunnel.rx_csum)};
  }
  if (!packet.empty()) {
    r.packet.assign(packet.begin(), packet.end());
    // The IPv4 total length when the bytes start with one, else the skb's length.
    bool v4 = packet.size() >= 4 && (packet[0] >> 4) == 4;
    r.orig_len = v4 ? static_cast<uint32_t>((packet[2] << 8) | packet[3]) : e.pkt_len;
    if (r.cause == Cause::checksum) {
      const char* layer = !r.tunnel                                 ? "packet"
                          : r.tunnel->source == TunnelSource::outer ? "outer"
                                                                    : "inner";
      r.csum = checksum_verdict(packet, layer, vxlan_port_);
    }
  }
  for (uint64_t addr : evidence.stack) r.stack.push_back(location(addr));
  return r;
}

int64_t monotonic_to_unix_offset_ns() {
  timespec real{}, mono{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
}

}  // namespace vxt
