// --filter / --filter-inner: tcpdump's pcap-filter language, compiled by libpcap, run on the
// captured bytes of each drop. Only the stream is filtered; every counter stays exact.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "sys/result.hpp"

namespace vxt {

class PacketFilter {
 public:
  // `expr` on raw IPv4 packets (the bytes start with the IP header). A syntax error is the
  // libpcap message, one line.
  static Result<std::unique_ptr<PacketFilter>> compile(const std::string& flag,
                                                       const std::string& expr);
  ~PacketFilter();
  PacketFilter(const PacketFilter&) = delete;
  PacketFilter& operator=(const PacketFilter&) = delete;

  bool matches(std::span<const uint8_t> packet, uint32_t orig_len) const;

 private:
  PacketFilter() = default;
  bpf_program prog_{};
};

// The tunnelled packet inside a captured VXLAN packet (IPv4/UDP to `vxlan_port`/VXLAN/
// Ethernet/IPv4), or an empty span when the bytes are no such packet.
std::span<const uint8_t> vxlan_inner(std::span<const uint8_t> ip, uint16_t vxlan_port);

}  // namespace vxt
