// The checksum on the wire and the right one, for a dropped packet vxtrace captured whole: what
// tcpdump prints as "[bad udp cksum 0x1a2b -> 0x3c4d!]", plus what the wrong value looks like,
// which tells an offload that never completed from bytes corrupted on the way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace vxt {

struct CsumVerdict {
  bool verified = false;
  std::string why;    // when not verified: "truncated: 96 of 600 bytes captured", "fragment", ...
  std::string layer;  // "outer" (VXLAN's own), "inner" (the tunnelled packet), "packet" (no tunnel)
  std::string proto;  // "ip" (header checksum), "udp", "tcp"
  uint16_t wire = 0, correct = 0;
  // "zero" (TCP, where 0 is never right), "ffff", "pseudo_header_only" (a CHECKSUM_PARTIAL
  // packet whose offload never filled it in), "mismatch" (anything else: corruption), "valid".
  std::string pattern;
};

// `ip` is the packet from its IPv4 header. `layer`: what that header is ("outer" for a packet
// still in its VXLAN tunnel, whose inner packet is checked too when the outer is right).
CsumVerdict checksum_verdict(std::span<const uint8_t> ip, const std::string& layer,
                             uint16_t vxlan_port);

}  // namespace vxt
