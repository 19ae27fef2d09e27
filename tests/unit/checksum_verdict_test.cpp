#include "decode/checksum_verdict.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace vxt {
namespace {

uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(s);
}

uint32_t sum16(const std::vector<uint8_t>& b, size_t from, size_t to, uint32_t s = 0) {
  for (size_t i = from; i < to; i += 2) s += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  return s;
}

void put16(std::vector<uint8_t>& b, size_t off, uint16_t v) {
  b[off] = v >> 8;
  b[off + 1] = v & 0xFF;
}

// IPv4 + UDP or TCP with a payload; header checksum right, L4 checksum as computed (right).
std::vector<uint8_t> packet(uint8_t proto, size_t payload, uint16_t dport = 5000) {
  size_t l4len = (proto == 6 ? 20 : 8) + payload;
  std::vector<uint8_t> p(20 + l4len, 0);
  p[0] = 0x45;
  put16(p, 2, static_cast<uint16_t>(p.size()));
  p[8] = 64;
  p[9] = proto;
  inet_pton(AF_INET, "10.244.1.10", &p[12]);
  inet_pton(AF_INET, "10.244.2.10", &p[16]);
  put16(p, 10, static_cast<uint16_t>(~fold(sum16(p, 0, 20))));
  put16(p, 20, 40000);
  put16(p, 22, dport);
  if (proto == 17) put16(p, 24, static_cast<uint16_t>(l4len));
  if (proto == 6) p[32] = 5 << 4;
  for (size_t i = 0; i < payload; ++i) p[p.size() - payload + i] = static_cast<uint8_t>(i * 7);
  uint32_t pseudo = sum16(p, 12, 20) + proto + static_cast<uint32_t>(l4len);
  uint16_t c = static_cast<uint16_t>(~fold(sum16(p, 20, p.size(), pseudo)));
  put16(p, proto == 6 ? 36 : 26, proto == 17 && c == 0 ? 0xFFFF : c);
  return p;
}

uint16_t pseudo_only(const std::vector<uint8_t>& p) {
  size_t l4len = p.size() - 20;
  return fold(sum16(p, 12, 20) + p[9] + static_cast<uint32_t>(l4len));
}

TEST(ChecksumVerdict, PatternsAgainstTheKnownRightChecksum) {
  for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
    auto good = packet(proto, 101);
    size_t off = proto == 6 ? 36 : 26;
    uint16_t right = static_cast<uint16_t>((good[off] << 8) | good[off + 1]);
    auto v = checksum_verdict(good, "inner", 4789);
    ASSERT_TRUE(v.verified) << v.why;
    EXPECT_EQ(v.pattern, "valid");
    EXPECT_EQ(v.correct, right);

    struct Case {
      uint16_t wire;
      const char* pattern;
    };
    std::vector<Case> cases = {{0xFFFF, "ffff"},
                               {pseudo_only(good), "pseudo_header_only"},
                               {static_cast<uint16_t>(right ^ 0x5A5A), "mismatch"}};
    if (proto == 6) cases.push_back({0, "zero"});  // UDP's 0 means "no checksum"
    for (const auto& c : cases) {
      auto bad = good;
      put16(bad, off, c.wire);
      auto w = checksum_verdict(bad, "inner", 4789);
      ASSERT_TRUE(w.verified);
      EXPECT_EQ(w.pattern, c.pattern) << int(proto) << " wire " << c.wire;
      EXPECT_EQ(w.wire, c.wire);
      EXPECT_EQ(w.correct, right) << "the right value does not depend on the wrong one";
      EXPECT_EQ(w.proto, proto == 6 ? "tcp" : "udp");
    }
  }
  auto udp = packet(17, 10);
  put16(udp, 26, 0);
  EXPECT_EQ(checksum_verdict(udp, "inner", 4789).pattern, "valid");
}

TEST(ChecksumVerdict, HeaderChecksumFirstThenWhatCannotBeVerified) {
  auto p = packet(17, 40);
  p[10] ^= 0x11;
  auto v = checksum_verdict(p, "packet", 4789);
  EXPECT_EQ(v.proto, "ip");
  EXPECT_EQ(v.pattern, "mismatch");
  auto cut = packet(17, 400);
  cut.resize(200);
  auto t = checksum_verdict(cut, "outer", 4789);
  EXPECT_FALSE(t.verified);
  EXPECT_NE(t.why.find("truncated: 200 of 428"), std::string::npos) << t.why;
  auto frag = packet(17, 40);
  put16(frag, 6, 0x2000);  // MF
  put16(frag, 10, 0);
  put16(frag, 10, static_cast<uint16_t>(~fold(sum16(frag, 0, 20))));
  EXPECT_FALSE(checksum_verdict(frag, "packet", 4789).verified);
  EXPECT_FALSE(checksum_verdict(std::vector<uint8_t>{0x60, 0, 0}, "packet", 4789).verified);
}

TEST(ChecksumVerdict, GoodOuterLooksInsideTheTunnel) {
  auto inner = packet(6, 50);
  put16(inner, 36, 0);  // the inner TCP checksum never filled in
  std::vector<uint8_t> vx(8 + 14, 0);
  vx[0] = 0x08;
  vx[8 + 12] = 0x08;  // inner EtherType IPv4
  std::vector<uint8_t> payload(vx);
  payload.insert(payload.end(), inner.begin(), inner.end());
  auto outer = packet(17, payload.size(), 4789);
  std::copy(payload.begin(), payload.end(), outer.begin() + 28);
  uint32_t pseudo = sum16(outer, 12, 20) + 17 + static_cast<uint32_t>(outer.size() - 20);
  put16(outer, 26, 0);
  put16(outer, 26, static_cast<uint16_t>(~fold(sum16(outer, 20, outer.size(), pseudo))));
  auto v = checksum_verdict(outer, "outer", 4789);
  ASSERT_TRUE(v.verified) << v.why;
  EXPECT_EQ(v.layer, "inner");
  EXPECT_EQ(v.proto, "tcp");
  EXPECT_EQ(v.pattern, "zero");
}

}  // namespace
}  // namespace vxt
