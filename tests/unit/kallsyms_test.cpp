#include "kernel/kallsyms.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

namespace vxt {
namespace {

std::string text_line(uint64_t addr, const std::string& name) {
  return fmt::format("{:016x} t {}\n", addr, name);
}

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

TEST(Symbolizer, SomeAddressesHiddenAreSkipped) {
  std::istringstream in(
      "0000000000000000 T hidden_a\n"
      "ffffffff81001000 T ip_rcv\n"
      "0000000000000000 t hidden_b\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.symbolize(0xffffffff81001010), "ip_rcv+0x10");
  EXPECT_EQ(s.symbolize(0), "0x0");
}

TEST(Symbolizer, ModuleSymbolsKeepTheNameOnly) {
  std::istringstream in(
      "ffffffff81000000 T _text\n"
      "ffffffffc0a01000 t vxlan_rcv\t[vxlan]\n"
      "ffffffffc0a02000 T nft_do_chain\t[nf_tables]\n"
      "ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]\n"
      "ffffffffc0b00000 d vxlan_net_ops\t[vxlan]\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.symbolize(0xffffffffc0a0105e), "vxlan_rcv+0x5e");
  EXPECT_EQ(s.symbolize(0xffffffffc0a024b2), "nft_do_chain+0x4b2");
  // Out of address order (modules need not be sorted) and not swallowed by the next line.
  EXPECT_EQ(s.symbolize(0xffffffffc0201010), "ftrace_trampoline+0x10");
  EXPECT_EQ(s.symbolize(0xffffffffc0b00010), "nft_do_chain+0xfe010");  // data skipped
}

TEST(Symbolizer, AddressFarPastTheLastSymbolBeforeItGivesHex) {
  // A JIT'd BPF program sits in its own area, megabytes past the last kernel text symbol.
  std::istringstream in("ffffffff81000000 T _stext\nffffffff82000000 T _einittext\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.symbolize(0xffffffff82000010), "_einittext+0x10");
  EXPECT_EQ(s.symbolize(0xffffffffbe83008e), "0xffffffffbe83008e");
}

TEST(Symbolizer, AddressBeforeTheFirstSymbolGivesHex) {
  std::istringstream in("ffffffff81001000 T ip_rcv\nffffffff81002000 T ip_rcv_finish\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.symbolize(0xffffffff81000fff), "0xffffffff81000fff");
  EXPECT_EQ(s.symbolize(1), "0x1");
  EXPECT_EQ(s.symbolize(0), "0x0");
}

TEST(Symbolizer, ExactBoundaries) {
  std::istringstream in(
      "ffffffff81001000 T ip_rcv\n"
      "ffffffff81002000 T ip_rcv_finish\n"
      "ffffffff81003000 t ip_rcv_core\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.symbolize(0xffffffff81001000), "ip_rcv+0x0");
  EXPECT_EQ(s.symbolize(0xffffffff81001fff), "ip_rcv+0xfff");
  EXPECT_EQ(s.symbolize(0xffffffff81002000), "ip_rcv_finish+0x0");
  EXPECT_EQ(s.symbolize(0xffffffff81002fff), "ip_rcv_finish+0xfff");
  EXPECT_EQ(s.symbolize(0xffffffff81003000), "ip_rcv_core+0x0");
  // Just past the last symbol: still the last one; gigabytes past it: no function is that long.
  EXPECT_EQ(s.symbolize(0xffffffff81003fff), "ip_rcv_core+0xfff");
  EXPECT_EQ(s.symbolize(0xffffffffffffffff), "0xffffffffffffffff");
}

TEST(Symbolizer, AliasesResolveToTheFirstListed) {
  // How /proc/kallsyms starts; the kernel's %pS also names the first.
  std::istringstream in(
      "ffffffff81000000 T srso_alias_untrain_ret\n"
      "ffffffff81000000 T _stext\n"
      "ffffffff81000000 T _text\n"
      "ffffffff81000100 T ip_rcv\n"
      "ffffffffc0a00000 t mod_b\t[m]\n"
      "ffffffffc0900000 t mod_a\t[m]\n"
      "ffffffffc0a00000 t mod_b_alias\t[m]\n");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.symbolize(0xffffffff81000010), "srso_alias_untrain_ret+0x10");
  EXPECT_EQ(s.symbolize(0xffffffffc0a00001), "mod_b+0x1");
  EXPECT_EQ(s.symbolize(0xffffffffc0900001), "mod_a+0x1");
}

TEST(Symbolizer, OddLinesAreSkipped) {
  std::istringstream in(
      "\n"
      "ffffffff81001000 T\n"
      "zzzz T not_hex\n"
      "ffffffff81001000 TT two_letter_type\n"
      "  ffffffff81002000   t   spaced  \n"
      "ffffffff81003000 T no_final_newline");
  auto s = Symbolizer::from_stream(in);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.symbolize(0xffffffff81002001), "spaced+0x1");
  EXPECT_EQ(s.symbolize(0xffffffff81003001), "no_final_newline+0x1");
}

TEST(Symbolizer, LinesAcrossReadChunks) {
  // More than one 64 KiB read, so lines straddle chunk boundaries.
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += text_line(0xffffffff81000000ull + 0x100ull * i, "fn_" + std::to_string(i));
  std::istringstream in(text);
  auto s = Symbolizer::from_stream(in);
  ASSERT_EQ(s.size(), 20000u);
  for (int i = 0; i < 20000; i += 997)
    EXPECT_EQ(s.symbolize(0xffffffff81000000ull + 0x100ull * i + 7),
              "fn_" + std::to_string(i) + "+0x7");
}

TEST(Symbolizer, DefaultIsHexOnly) {
  Symbolizer s;
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.symbolize(0xffffffff81001153), "0xffffffff81001153");
}

const char* const kSample =
    "0000000000000000 T hidden\n"
    "ffffffff81000000 T _stext\n"
    "ffffffff81000000 T _text\n"
    "ffffffff81001000 t udp_queue_rcv_one_skb\n"
    "ffffffff81001800 D some_data\n"
    "ffffffff81002000 T ip_rcv\n"
    "ffffffffc0a02000 T nft_do_chain\t[nf_tables]\n"
    "ffffffffc0a01000 t vxlan_rcv\t[vxlan]\n";

TEST(Symbolizer, AsyncAnswersAsSync) {
  std::istringstream in(kSample);
  auto sync = Symbolizer::from_stream(in);
  std::atomic<int> calls{0};
  std::atomic<size_t> reported{~size_t{0}};
  auto async =
      Symbolizer::from_stream_async(std::make_unique<std::istringstream>(kSample), [&](size_t n) {
        reported = n;
        ++calls;
      });
  const uint64_t addrs[] = {0,
                            1,
                            0xffffffff80ffffff,
                            0xffffffff81000000,
                            0xffffffff81000fff,
                            0xffffffff81001000,
                            0xffffffff81001153,
                            0xffffffff81001900,
                            0xffffffff81002000,
                            0xffffffffc0a01000,
                            0xffffffffc0a0105e,
                            0xffffffffc0a02000,
                            0xffffffffc0a024b2,
                            0xffffffffffffffff};
  for (uint64_t a : addrs) EXPECT_EQ(async.symbolize(a), sync.symbolize(a)) << std::hex << a;
  EXPECT_EQ(async.size(), sync.size());
  EXPECT_EQ(sync.size(), 5u);
  EXPECT_EQ(calls, 1);  // done before the table was handed out
  EXPECT_EQ(reported, 5u);
}

TEST(Symbolizer, AsyncFromManyThreads) {
  auto s = Symbolizer::from_stream_async(std::make_unique<std::istringstream>(kSample));
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j)
        if (s.symbolize(0xffffffff81001153) != "udp_queue_rcv_one_skb+0x153") ++bad;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, 0);
}

TEST(Symbolizer, AsyncEmptyInputReportsZero) {
  std::atomic<size_t> reported{~size_t{0}};
  {
    auto s = Symbolizer::from_stream_async(std::make_unique<std::istringstream>(""),
                                           [&](size_t n) { reported = n; });
  }  // the destructor waits for the build
  EXPECT_EQ(reported, 0u);
}

TEST(Symbolizer, CopiesAndMovesShareTheTable) {
  auto a = Symbolizer::from_stream_async(std::make_unique<std::istringstream>(kSample));
  Symbolizer b = a;
  Symbolizer c;
  c = std::move(a);
  EXPECT_EQ(b.symbolize(0xffffffff81002001), "ip_rcv+0x1");
  EXPECT_EQ(c.symbolize(0xffffffff81002001), "ip_rcv+0x1");
}

}  // namespace
}  // namespace vxt
