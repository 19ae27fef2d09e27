#include "decode/summary.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "ipv4.hpp"

namespace vxt {
namespace {

using test::ip;

TEST(Summary, PerPeerRatiosAndCauseTotalsFromRawCounters) {
  RawCounters c;
  c.drop_slots[vxt_drop_slot(11, VXT_CAUSE_CHECKSUM)] = 37;
  c.drop_slots[vxt_drop_slot(12, VXT_CAUSE_CONNTRACK)] = 4;
  c.drop_slots[vxt_drop_slot(12, VXT_CAUSE_NETFILTER)] = 2;
  c.drop_slots[vxt_drop_slot(VXT_REASON_OVERFLOW, VXT_CAUSE_OTHER)] = 1;
  c.peer_rx[ip("192.0.2.1")] = {1000, 500000, 963};
  c.peer_rx[ip("192.0.2.3")] = {1000, 500000, 1000};
  c.peer_drops[{ip("192.0.2.1"), VXT_CAUSE_CHECKSUM}] = 37;
  c.peer_drops[{ip("192.0.2.1"), VXT_CAUSE_OTHER}] = 13;  // e.g. duplicates: TCP_OLD_DATA
  c.stats[VXT_STAT_LOST_EVENTS] = 5;
  c.stats[VXT_STAT_JOIN_HITS] = 9;
  c.stats[VXT_STAT_JOIN_OTHER_CPU] = 2;
  c.stats[VXT_STAT_PEER_DROPS_ELSEWHERE] = 5;
  auto s = summarize(c, DropReasons::from_entries({{11, "UDP_CSUM"}, {12, "NETFILTER_DROP"}}));

  EXPECT_EQ(s.drops_by_cause[Cause::checksum], 37u);
  EXPECT_EQ(s.drops_by_cause[Cause::conntrack], 4u);
  EXPECT_EQ(s.drops_by_cause[Cause::netfilter], 2u);
  EXPECT_EQ(s.drops_by_reason["UDP_CSUM"], 37u);
  EXPECT_EQ(s.drops_by_reason["NETFILTER_DROP"], 6u);
  EXPECT_EQ(s.drops_by_reason["SUBSYSTEM"], 1u);
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].peer, ip("192.0.2.1"));  // the bad node first
  EXPECT_EQ(s.peers[0].drops, 50u);
  EXPECT_DOUBLE_EQ(s.peers[0].drop_ratio, 0.05);
  EXPECT_EQ(s.peers[0].by_cause[Cause::checksum], 37u);
  // The ratio that names a bad NIC is the checksum one, not every drop's.
  EXPECT_DOUBLE_EQ(s.peers[0].ratio_by_cause[Cause::checksum], 0.037);
  EXPECT_DOUBLE_EQ(s.peers[0].ratio_by_cause[Cause::other], 0.013);
  EXPECT_EQ(s.peers[1].peer, ip("192.0.2.3"));
  EXPECT_EQ(s.peers[1].drops, 0u);
  EXPECT_EQ(s.peers[1].drop_ratio, 0.0);
  EXPECT_EQ(s.lost_events, 5u);
  EXPECT_EQ(s.join_hits, 9u);
  EXPECT_EQ(s.join_other_cpu, 2u);
  EXPECT_EQ(s.peer_drops_elsewhere, 5u);
}

TEST(Summary, DropsFromAPeerNeverSeenAtIngressHaveNoRatio) {
  RawCounters c;
  c.peer_drops[{ip("198.51.100.7"), VXT_CAUSE_VXLAN}] = 3;
  auto s = summarize(c, DropReasons::from_entries({}));
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].drops, 3u);
  EXPECT_EQ(s.peers[0].rx_packets, 0u);
  EXPECT_EQ(s.peers[0].drop_ratio, 0.0);
}

}  // namespace
}  // namespace vxt
