#include "modes/doctor/conntrack.hpp"

#include <gtest/gtest.h>

#include "modes/doctor/findings.hpp"

namespace vxt::doctor {
namespace {

// Recorded from a two-CPU namespace after the ct_invalid lab scenario.
const char* kStat =
    "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
    "early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
    "00000003  00000000 00000000 00000000 00000020 00000000 00000000 00000000 00000000 00000001 "
    "00000000 00000000 00000000  00000000 00000000 00000000 00000000\n"
    "00000003  00000000 00000000 00000000 00000012 00000000 00000000 00000000 00000000 00000000 "
    "00000002 00000000 00000000  00000000 00000000 00000000 00000000\n";

TEST(Conntrack, SumsPerCpuHexRowsAndDropsTheEntriesGauge) {
  auto s = parse_conntrack_stat(kStat);
  EXPECT_EQ(s["invalid"], 0x20u + 0x12u);
  EXPECT_EQ(s["insert_failed"], 1u);
  EXPECT_EQ(s["drop"], 2u);
  EXPECT_EQ(s.count("entries"), 0u);
}

TEST(ConntrackFindings, FillAboveNinetyPercentIsCritical) {
  ConntrackInput c{true, 950, 1000, {}};
  auto f = conntrack_findings(c, LiveEvidence{});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "conntrack_table_full");
  EXPECT_EQ(f[0].severity, Severity::critical);
  EXPECT_EQ(f[0].fix_now[0], "sysctl -w net.netfilter.nf_conntrack_max=2000");
  c.count = 100;
  EXPECT_TRUE(conntrack_findings(c, LiveEvidence{}).empty());
}

TEST(ConntrackFindings, WindowDeltasNameFullTableInsertRaceAndInvalidRule) {
  LiveEvidence live;
  live.observed = true;
  live.seconds = 10;
  live.conntrack_before = {true, 10, 1000, parse_conntrack_stat(kStat)};
  live.conntrack_after = live.conntrack_before;
  live.conntrack_after.stats["drop"] += 5;
  live.conntrack_after.stats["insert_failed"] += 3;
  live.conntrack_after.stats["invalid"] += 50;
  live.conntrack_drops = 50;
  auto f = conntrack_findings(live.conntrack_after, live);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].id, "conntrack_full_drops");
  EXPECT_EQ(f[0].evidence["drop"], 5);
  EXPECT_EQ(f[1].id, "conntrack_insert_failed");
  EXPECT_EQ(f[2].id, "conntrack_invalid_drops");
  EXPECT_EQ(f[2].evidence["conntrack_invalid"], 50);
  EXPECT_EQ(f[2].fix_now[0], "sysctl -w net.netfilter.nf_conntrack_tcp_be_liberal=1");
}

}  // namespace
}  // namespace vxt::doctor
