#include <gtest/gtest.h>

#include "ipv4.hpp"
#include "modes/doctor/findings.hpp"

namespace vxt::doctor {
namespace {

const DeviceNames kNames{"eth0", "vxlan.calico"};

// The outer_csum lab scenario as the Tracer summarized it: A sent 37 bad of 1000, C none.
LiveEvidence outer_csum_window() {
  LiveEvidence live;
  live.observed = true;
  live.seconds = 2;
  live.summary.peers = {
      {test::ip("192.0.2.1"), 1000, 512000, 963, 37, 0.037, {{Cause::checksum, 37}}},
      {test::ip("192.0.2.3"), 1000, 512000, 1000, 0, 0, {}}};
  live.checksum_by_peer[test::ip("192.0.2.1")] = {37, 0, {{"UDP_CSUM", 37}}};
  live.counters_after[kUdpCsumErrors] = 37;
  return live;
}

TEST(ChecksumFindings, PeerWithBadOuterChecksumsGetsTheSentenceAndItsOwnFix) {
  auto f = checksum_findings(outer_csum_window(), {}, "6.18.0", kNames);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].title,
            "node 192.0.2.1 sends 3.7 % of its VXLAN packets with bad outer UDP checksums");
  EXPECT_EQ(f[0].run_on, "node 192.0.2.1");
  EXPECT_EQ(f[0].fix_now[0],
            "ethtool -K eth0 tx-udp_tnl-csum-segmentation off tx-udp_tnl-segmentation off");
  EXPECT_EQ(f[0].evidence["checksum_drops"], 37);
  EXPECT_EQ(f[0].evidence["kernel_Udp_InCsumErrors"], 37);
}

TEST(ChecksumFindings, CapturedPatternsTellAnUnfinishedOffloadFromCorruption) {
  auto unfinished = outer_csum_window();
  unfinished.checksum_by_peer[test::ip("192.0.2.1")].outer_patterns = {{"pseudo_header_only", 30},
                                                                       {"mismatch", 7}};
  auto f = checksum_findings(unfinished, {}, "6.18.0", kNames);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].root_cause.find("never completes the outer UDP checksum: 30 of 37"),
            std::string::npos)
      << f[0].root_cause;
  EXPECT_EQ(f[0].fix_now[0],
            "ethtool -K eth0 tx-udp_tnl-csum-segmentation off tx-udp_tnl-segmentation off");
  auto corrupted = outer_csum_window();
  corrupted.checksum_by_peer[test::ip("192.0.2.1")].outer_patterns = {{"mismatch", 37}};
  auto g = checksum_findings(corrupted, {}, "6.18.0", kNames);
  EXPECT_NE(g[0].root_cause.find("corrupted after"), std::string::npos);
  EXPECT_EQ(g[0].fix_now[0].rfind("ethtool -S eth0", 0), 0u);
  EXPECT_EQ(g[0].fix_now.size(), 2u);
}

TEST(ChecksumFindings, InnerChecksumDropsPointAtTheSendersVxlanOffload) {
  LiveEvidence live;
  live.observed = true;
  live.summary.peers = {{test::ip("192.0.2.1"), 50, 0, 50, 50, 1.0, {{Cause::checksum, 50}}}};
  // Named from the flows, which kernels without drop reasons give too.
  live.checksum_by_peer[test::ip("192.0.2.1")] = {0, 50, {{"NOT_SPECIFIED", 50}}, {{"tcp", 50}}};
  auto f = checksum_findings(live, {}, "6.18.0", kNames);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "inner_checksum_peer");
  EXPECT_NE(f[0].title.find("inner TCP checksums"), std::string::npos);
  EXPECT_EQ(f[0].fix_now[0], "ethtool -K vxlan.calico tx-checksum-ip-generic off");
  EXPECT_NE(f[0].persistent[1].find("ChecksumOffloadBroken=true"), std::string::npos);
}

TEST(ChecksumFindings, MixedEventsSplitTheExactTotal) {
  LiveEvidence live;
  live.observed = true;
  live.summary.peers = {{test::ip("192.0.2.1"), 100, 0, 0, 10, 0.1, {{Cause::checksum, 10}}}};
  live.checksum_by_peer[test::ip("192.0.2.1")] = {3, 3, {}};  // events lost: shares still hold
  auto f = checksum_findings(live, {}, "6.18.0", kNames);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].evidence["checksum_drops"], 5);
  EXPECT_EQ(f[1].evidence["checksum_drops"], 5);
}

TEST(ChecksumFindings, LocalOldKernelWithInnerOffloadAndRiskyNic) {
  std::vector<DeviceOffloads> local = {
      {"eth0", DriverInfo{"i40e", "2.8", "6.01", ""}, {{kTunnelCsumSegmentation, true}}},
      {"vxlan.calico", DriverInfo{"vxlan", "0.1", "", ""}, {{kInnerCsum, true}}}};
  auto f = checksum_findings(LiveEvidence{}, local, "5.4.40-1-amd64", kNames);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, "local_tunnel_offload_risk");
  EXPECT_EQ(f[0].fix_now[0], "ethtool -K eth0 tx-udp_tnl-csum-segmentation off");
  EXPECT_EQ(f[1].id, "kernel_inner_checksum_bug");
  EXPECT_TRUE(checksum_findings(LiveEvidence{}, local, "5.4.41", kNames).size() == 1);
}

}  // namespace
}  // namespace vxt::doctor
