#include "evidence/packet_filter.hpp"

namespace vxt {

Result<std::unique_ptr<PacketFilter>> PacketFilter::compile(const std::string& flag,
                                                            const std::string& expr) {
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> dead(pcap_open_dead(DLT_RAW, 65535), pcap_close);
  if (!dead) return Error{flag + ": libpcap could not start"};
  std::unique_ptr<PacketFilter> f(new PacketFilter());
  if (pcap_compile(dead.get(), &f->prog_, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    return Error{flag + " '" + expr + "': " + pcap_geterr(dead.get())};
  return f;
}

PacketFilter::~PacketFilter() { pcap_freecode(&prog_); }

bool PacketFilter::matches(std::span<const uint8_t> packet, uint32_t orig_len) const {
  if (packet.empty()) return false;
  pcap_pkthdr hdr{};
  hdr.caplen = static_cast<bpf_u_int32>(packet.size());
  hdr.len = std::max<bpf_u_int32>(orig_len, hdr.caplen);
  return pcap_offline_filter(&prog_, &hdr, packet.data()) != 0;
}

std::span<const uint8_t> vxlan_inner(std::span<const uint8_t> ip, uint16_t vxlan_port) {
  if (ip.size() < 20 || (ip[0] >> 4) != 4 || ip[9] != 17) return {};
  size_t ihl = static_cast<size_t>(ip[0] & 0xF) * 4;
  constexpr size_t kUdpVxlanEth = 8 + 8 + 14;
  if (ihl < 20 || ip.size() < ihl + kUdpVxlanEth + 20) return {};
  auto udp = ip.subspan(ihl);
  if (((udp[2] << 8) | udp[3]) != vxlan_port) return {};
  auto eth = udp.subspan(16);
  if (eth[12] != 0x08 || eth[13] != 0x00) return {};  // inner IPv4 only
  return eth.subspan(14);
}

}  // namespace vxt
