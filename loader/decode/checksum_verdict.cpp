#include "decode/checksum_verdict.hpp"

#include <fmt/format.h>

namespace vxt {
namespace {

constexpr size_t kVxlanInner = 8 + 8 + 14;  // UDP, VXLAN and inner Ethernet headers

uint32_t add(std::span<const uint8_t> b, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < b.size(); i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.size() % 2) sum += b.back() << 8;
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint16_t at16(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}

std::string pattern(uint16_t wire, uint16_t correct, uint16_t pseudo) {
  if (wire == correct) return "valid";
  if (wire == 0) return "zero";
  if (wire == 0xFFFF) return "ffff";
  if (wire == pseudo) return "pseudo_header_only";
  return "mismatch";
}

CsumVerdict unverified(const std::string& layer, std::string why) {
  CsumVerdict v;
  v.layer = layer;
  v.why = std::move(why);
  return v;
}

}  // namespace

CsumVerdict checksum_verdict(std::span<const uint8_t> ip, const std::string& layer,
                             uint16_t vxlan_port) {
  if (ip.size() < 20 || (ip[0] >> 4) != 4) return unverified(layer, "not an IPv4 packet");
  size_t ihl = static_cast<size_t>(ip[0] & 0xF) * 4, tot = at16(ip, 2);
  if (ihl < 20 || tot < ihl) return unverified(layer, "malformed IPv4 header");
  if (ip.size() < tot)
    return unverified(layer, fmt::format("truncated: {} of {} bytes captured (raise --snaplen, or "
                                         "a GRO'd or paged packet)",
                                         ip.size(), tot));
  ip = ip.first(tot);
  CsumVerdict v;
  v.verified = true;
  v.layer = layer;
  v.proto = "ip";
  v.wire = at16(ip, 10);
  v.correct = static_cast<uint16_t>(~fold(add(ip.first(ihl)) - v.wire));
  if (fold(add(ip.first(ihl))) != 0xFFFF) {
    v.pattern = pattern(v.wire, v.correct, 0);
    return v;
  }
  if (at16(ip, 6) & 0x3FFF) return unverified(layer, "fragment: the checksum spans the reassembly");
  uint8_t proto = ip[9];
  if (proto != 6 && proto != 17) {
    v.pattern = "valid";
    return v;
  }
  auto l4 = ip.subspan(ihl);
  size_t csum_off = proto == 6 ? 16 : 6;
  if (l4.size() < csum_off + 2) return unverified(layer, "L4 header cut short");
  v.proto = proto == 6 ? "tcp" : "udp";
  v.wire = at16(l4, csum_off);
  uint32_t pseudo = add(ip.subspan(12, 8)) + proto + static_cast<uint32_t>(l4.size());
  uint32_t sum = add(l4, pseudo) - v.wire;  // the segment with its checksum field zeroed
  v.correct = static_cast<uint16_t>(~fold(sum));
  if (proto == 17 && v.correct == 0) v.correct = 0xFFFF;  // UDP sends 0 as 0xffff
  bool no_udp_csum = proto == 17 && v.wire == 0;          // IPv4 UDP: "no checksum"
  v.pattern = no_udp_csum ? "valid" : pattern(v.wire, v.correct, fold(pseudo));
  if (v.pattern != "valid" || proto != 17 || at16(l4, 2) != vxlan_port || layer != "outer" ||
      l4.size() < kVxlanInner + 20)
    return v;
  auto inner = checksum_verdict(l4.subspan(kVxlanInner), "inner", vxlan_port);
  return inner.verified ? inner : v;
}

}  // namespace vxt
