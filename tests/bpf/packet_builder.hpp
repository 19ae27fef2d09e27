// Builds the frames a node puts on the wire: outer Ethernet/IPv4/UDP/VXLAN around an inner
// Ethernet/IPv4/TCP|UDP|ICMP packet, with real checksums unless told to corrupt them.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ipv4.hpp"

namespace vxt::test {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, size_t off, uint16_t host) {
  b[off] = host >> 8;
  b[off + 1] = host & 0xff;
}

inline uint16_t checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct Ip4Packet {
  uint32_t src, dst;
  uint8_t proto = 17;
  uint16_t id = 1, sport = 1000, dport = 2000;
  uint8_t tcp_flags = 0x02;
  size_t payload = 32;
  bool bad_l4_csum = false;

  Bytes build() const {
    size_t l4len = proto == 6 ? 20 : 8;
    Bytes b(20 + l4len + payload, 0);
    b[0] = 0x45;
    put16(b, 2, static_cast<uint16_t>(b.size()));
    put16(b, 4, id);
    b[8] = 64;
    b[9] = proto;
    std::memcpy(&b[12], &src, 4);
    std::memcpy(&b[16], &dst, 4);
    put16(b, 10, checksum(b.data(), 20));
    uint8_t* l4 = &b[20];
    if (proto == 6) {
      put16(b, 20, sport);
      put16(b, 22, dport);
      l4[12] = 5 << 4;
      l4[13] = tcp_flags;
    } else if (proto == 17) {
      put16(b, 20, sport);
      put16(b, 22, dport);
      put16(b, 24, static_cast<uint16_t>(8 + payload));
    } else if (proto == 1) {
      l4[0] = 8;  // echo request
      put16(b, 24, sport);
    }
    uint32_t pseudo = (ntohl(src) >> 16) + (ntohl(src) & 0xffff) + (ntohl(dst) >> 16) +
                      (ntohl(dst) & 0xffff) + proto + (b.size() - 20);
    uint16_t c = proto == 1 ? checksum(l4, b.size() - 20) : checksum(l4, b.size() - 20, pseudo);
    if (bad_l4_csum) c ^= 0x5a5a;
    size_t at = proto == 6 ? 36 : proto == 17 ? 26 : 22;
    put16(b, at, c);
    return b;
  }
};

inline Bytes ethernet(const Bytes& l3, uint16_t ethertype = 0x0800) {
  Bytes f = {
      0x66, 0, 0, 0, 0, 2, 0x66, 0, 0, 0, 0, 1, uint8_t(ethertype >> 8), uint8_t(ethertype & 0xff)};
  f.insert(f.end(), l3.begin(), l3.end());
  return f;
}

// Outer IPv4/UDP/VXLAN around `inner_l3` (wrapped in its own Ethernet header).
inline Bytes vxlan_frame(uint32_t peer, uint32_t local, uint32_t vni, const Bytes& inner_l3,
                         uint16_t port = 4789, uint16_t outer_sport = 40000) {
  Bytes inner = ethernet(inner_l3);
  Ip4Packet outer{peer, local, 17, 7, outer_sport, port};
  outer.payload = 8 + inner.size();
  Bytes l3 = outer.build();
  l3[28] = 0x08;  // VXLAN flags: VNI valid
  l3[32] = vni >> 16;
  l3[33] = (vni >> 8) & 0xff;
  l3[34] = vni & 0xff;
  std::memcpy(&l3[36], inner.data(), inner.size());
  put16(l3, 26, 0);  // outer checksum 0, as Linux VXLAN sends over IPv4 by default
  return ethernet(l3);
}

}  // namespace vxt::test
