#include "tracer/build_summary.hpp"

#include <gtest/gtest.h>

#include "ipv4.hpp"

namespace vxt {
namespace {

using test::ip;

const auto kReasons = DropReasons::from_entries({{12, "NETFILTER_DROP"}, {11, "UDP_CSUM"}});

// Peer A's 70 netfilter drops as the kernel counts them: 30 by a rule matching ct state
// INVALID, 40 by a policy rule; B's 5 checksum drops.
RawCounters kernel_counts() {
  RawCounters c;
  c.drop_slots[vxt_drop_slot(12, VXT_CAUSE_NETFILTER)] = 70;
  c.drop_slots[vxt_drop_slot(11, VXT_CAUSE_CHECKSUM)] = 5;
  c.peer_rx[ip("192.0.2.1")] = {100, 10000, 30};
  c.peer_rx[ip("192.0.2.3")] = {100, 10000, 95};
  c.peer_drops[{ip("192.0.2.1"), VXT_CAUSE_NETFILTER}] = 70;
  c.peer_drops[{ip("192.0.2.3"), VXT_CAUSE_CHECKSUM}] = 5;
  return c;
}

nf::RuleTotals rules() {
  return {{{{"ip", "filter", "cali-tw-x", 3, std::nullopt, true}, 30},
           {{"ip", "filter", "cali-tw-x", 9, std::nullopt, false}, 40}},
          60,
          10,
          0};
}

TEST(BuildSummary, ConntracksShareMovesInTotalByRulesAndPerPeerByEvents) {
  EventTotals ev;
  ev.moved[{ip("192.0.2.1"), Cause::netfilter, Cause::conntrack}] = 30;
  ev.malformed_records = 2;
  ev.filtered = 3;
  auto s = build_summary(kernel_counts(), kReasons, rules(), ev);
  EXPECT_EQ(s.drops_by_cause,
            (std::map<Cause, uint64_t>{
                {Cause::checksum, 5}, {Cause::conntrack, 30}, {Cause::netfilter, 40}}));
  EXPECT_EQ(s.drops_by_reason.at("NETFILTER_DROP"), 70u);  // the kernel's reason stays
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].peer, ip("192.0.2.1"));
  EXPECT_EQ(s.peers[0].by_cause,
            (std::map<Cause, uint64_t>{{Cause::conntrack, 30}, {Cause::netfilter, 40}}));
  EXPECT_EQ(s.peers[0].drops, 70u);
  EXPECT_DOUBLE_EQ(s.peers[0].ratio_by_cause.at(Cause::conntrack), 0.3);
  EXPECT_DOUBLE_EQ(s.peers[0].ratio_by_cause.at(Cause::netfilter), 0.4);
  EXPECT_EQ(s.peers[1].by_cause, (std::map<Cause, uint64_t>{{Cause::checksum, 5}}));
  EXPECT_EQ(s.netfilter_rules.size(), 2u);
  EXPECT_EQ(s.netfilter_named_by_trace, 60u);
  EXPECT_EQ(s.netfilter_named_by_counters, 10u);
  EXPECT_EQ(s.malformed_records, 2u);
  EXPECT_EQ(s.events_filtered, 3u);
}

TEST(BuildSummary, NeverMovesMoreThanTheKernelCounted) {
  EventTotals ev;
  ev.moved[{ip("192.0.2.1"), Cause::netfilter, Cause::conntrack}] = 500;
  ev.moved[{ip("198.51.100.9"), Cause::netfilter, Cause::conntrack}] = 4;  // not counted per peer
  auto s = build_summary(kernel_counts(), kReasons, {}, ev);
  EXPECT_EQ(s.peers[0].by_cause, (std::map<Cause, uint64_t>{{Cause::conntrack, 70}}));
  EXPECT_EQ(s.peers.size(), 2u);
  // Without the rules' counters nothing moves in total: only they are exact there.
  EXPECT_EQ(s.drops_by_cause.at(Cause::netfilter), 70u);
}

TEST(BuildSummary, WithoutEventsOrRulesItIsTheKernelsCounts) {
  auto s = build_summary(kernel_counts(), kReasons, {}, {});
  auto plain = summarize(kernel_counts(), kReasons);
  EXPECT_EQ(s.drops_by_cause, plain.drops_by_cause);
  ASSERT_EQ(s.peers.size(), plain.peers.size());
  for (size_t i = 0; i < s.peers.size(); ++i) {
    EXPECT_EQ(s.peers[i].peer, plain.peers[i].peer);
    EXPECT_EQ(s.peers[i].by_cause, plain.peers[i].by_cause);
  }
}

}  // namespace
}  // namespace vxt
