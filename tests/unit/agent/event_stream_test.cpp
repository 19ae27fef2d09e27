#include "modes/agent/event_stream.hpp"

#include <gtest/gtest.h>

#include "ipv4.hpp"

namespace vxt::agent {
namespace {

using namespace std::chrono_literals;

DropRecord drop(uint16_t sport, Cause cause = Cause::checksum) {
  DropRecord d;
  d.ts_unix_ns = 1'700'000'000'000'000'000 + sport;
  d.cause = cause;
  d.reason = "UDP_CSUM";
  d.ifname = "eth0";
  d.flow = FlowRecord{test::ip("10.0.0.1"), test::ip("10.0.0.2"), IPPROTO_UDP, sport, 53, 0};
  d.tunnel = TunnelRecord{test::ip("192.0.2.1"), test::ip("192.0.2.2"), 4096, TunnelSource::outer,
                          RxCsum::software};
  return d;
}

struct Lines {
  std::vector<nlohmann::ordered_json> all;
  std::vector<nlohmann::ordered_json> of(const std::string& type) const {
    std::vector<nlohmann::ordered_json> out;
    for (const auto& j : all)
      if (j["type"] == type) out.push_back(j);
    return out;
  }
};

EventStream make(Lines& lines, StreamLimits limits) {
  return EventStream(limits, "node-b",
                     [&](const nlohmann::ordered_json& j) { lines.all.push_back(j); });
}

// Every drop handed in is written, folded into a repeat, or counted as suppressed.
void expect_accounted(const StreamCounters& c) {
  EXPECT_EQ(c.received, c.written + c.repeated + c.suppressed_rate + c.suppressed_keys);
}

TEST(EventStream, FirstDropOfAFlowIsWrittenRepeatsAreFolded) {
  Lines lines;
  auto s = make(lines, {1.0, 100, 100, 16});
  auto t0 = Clock::time_point{} + 100s;
  for (int i = 0; i < 10; ++i) s.drop(drop(5000), t0 + i * 10ms);
  ASSERT_EQ(lines.of("drop").size(), 1u);
  EXPECT_TRUE(lines.of("repeat").empty()) << "repeats wait for the window to close";
  s.tick(t0 + 1100ms);
  auto rep = lines.of("repeat");
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0]["count"], 9);
  EXPECT_EQ(rep[0]["cause"], "checksum");
  EXPECT_EQ(rep[0]["tunnel"]["peer"], "192.0.2.1");
  EXPECT_EQ(rep[0].begin().key(), "type") << "type stays the first key";
  expect_accounted(s.counters());
  EXPECT_EQ(s.open_keys(), 0u);
}

TEST(EventStream, OverTheRateLimitIsCountedAndReported) {
  Lines lines;
  auto s = make(lines, {1.0, 5, 5, 1000});
  auto t0 = Clock::time_point{} + 100s;
  for (uint16_t i = 0; i < 50; ++i) s.drop(drop(i), t0);  // 50 distinct flows at once
  EXPECT_EQ(lines.of("drop").size(), 5u);
  s.tick(t0 + 1s, true);
  auto sup = lines.of("suppressed");
  ASSERT_EQ(sup.size(), 1u);
  EXPECT_EQ(sup[0]["count"], 45);
  EXPECT_EQ(sup[0]["by_cause"]["checksum"], 45);
  EXPECT_EQ(sup[0]["by_limit"]["rate"], 45);
  EXPECT_EQ(s.counters().suppressed_rate, 45u);
  expect_accounted(s.counters());
}

TEST(EventStream, FlowsBeyondTheCapAreCountedNotKept) {
  Lines lines;
  auto s = make(lines, {1.0, 1000, 1000, 3});
  auto t0 = Clock::time_point{} + 100s;
  for (uint16_t i = 0; i < 10; ++i) s.drop(drop(i, i % 2 ? Cause::rp_filter : Cause::checksum), t0);
  EXPECT_EQ(s.open_keys(), 3u) << "memory is bounded by the cap";
  EXPECT_EQ(s.counters().suppressed_keys, 7u);
  s.tick(t0 + 2s);
  auto sup = lines.of("suppressed");
  ASSERT_EQ(sup.size(), 1u);
  EXPECT_EQ(sup[0]["by_limit"]["keys"], 7);
  EXPECT_EQ(sup[0]["by_cause"]["rp_filter"], 4);
  EXPECT_EQ(sup[0]["by_cause"]["checksum"], 3);
  expect_accounted(s.counters());
}

TEST(EventStream, RepeatLinesAlsoObeyTheRateLimit) {
  Lines lines;
  auto s = make(lines, {1.0, 2, 2, 100});
  auto t0 = Clock::time_point{} + 100s;
  for (uint16_t f = 0; f < 4; ++f)
    for (int i = 0; i < 3; ++i) s.drop(drop(f), t0);
  s.tick(t0 + 1s, true);  // two tokens refilled in that second: two repeat lines
  EXPECT_EQ(lines.of("drop").size(), 2u);
  EXPECT_EQ(lines.of("repeat").size(), 2u);
  expect_accounted(s.counters());
  EXPECT_EQ(s.counters().suppressed_rate, 2u + 2 * 2) << "two first drops, two flows' repeats";
}

TEST(EventStream, AQuietWindowWritesNothing) {
  Lines lines;
  auto s = make(lines, {1.0, 10, 10, 10});
  s.tick(Clock::time_point{} + 100s, true);
  EXPECT_TRUE(lines.all.empty());
}

TEST(EventStream, FlowKeySeparatesCauseTunnelAndPorts) {
  EXPECT_NE(flow_key(drop(1)), flow_key(drop(2)));
  EXPECT_NE(flow_key(drop(1, Cause::checksum)), flow_key(drop(1, Cause::rp_filter)));
  auto other_peer = drop(1);
  other_peer.tunnel->peer = test::ip("192.0.2.3");
  EXPECT_NE(flow_key(drop(1)), flow_key(other_peer));
  DropRecord bare;
  bare.cause = Cause::other;
  EXPECT_FALSE(flow_key(bare).empty());
}

TEST(TokenBucket, RefillsAtTheRateUpToTheBurst) {
  TokenBucket b(10, 2);
  auto t = Clock::time_point{} + 1s;
  EXPECT_TRUE(b.take(t));
  EXPECT_TRUE(b.take(t));
  EXPECT_FALSE(b.take(t));
  EXPECT_TRUE(b.take(t + 100ms));
  EXPECT_FALSE(b.take(t + 100ms));
  EXPECT_TRUE(b.take(t + 10s));
  EXPECT_TRUE(b.take(t + 10s));
  EXPECT_FALSE(b.take(t + 10s)) << "never more than the burst";
}

}  // namespace
}  // namespace vxt::agent
