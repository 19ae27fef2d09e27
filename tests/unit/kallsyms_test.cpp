#include "kallsyms.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace vxt {
namespace {

TEST(Symbolizer, ResolvesTextSymbolsWithOffsets) {
  std::istringstream in(
      "ffffffff81000000 T _text\n"
      "ffffffff81001000 t udp_queue_rcv_one_skb\n"
      "ffffffff81001800 D some_data\n"
      "ffffffff81002000 T nft_do_chain\t[nf_tables]\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.symbolize(0xffffffff81001153), "udp_queue_rcv_one_skb+0x153");
  EXPECT_EQ(s.symbolize(0xffffffff81001900), "udp_queue_rcv_one_skb+0x900");  // data skipped
  EXPECT_EQ(s.symbolize(0xffffffff81002000), "nft_do_chain+0x0");
  EXPECT_EQ(s.symbolize(0x1000), "0x1000");
}

TEST(Symbolizer, HiddenAddressesGiveHex) {
  std::istringstream in("0000000000000000 T _text\n0000000000000000 T ip_rcv\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.symbolize(0xffffffff81001153), "0xffffffff81001153");
}

}  // namespace
}  // namespace vxt
