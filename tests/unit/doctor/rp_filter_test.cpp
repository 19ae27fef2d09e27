#include "modes/doctor/rp_filter.hpp"

#include <gtest/gtest.h>

#include "modes/doctor/findings.hpp"

namespace vxt::doctor {
namespace {

using Cmds = std::vector<std::string>;

TEST(RpFilter, EffectiveIsTheMaximumOfAllAndDevice) {
  RpFilterInput in{0, 0, {{"vxlan.calico", 1}, {"eth0", 0}}};
  EXPECT_EQ(effective_rp_filter(in, "vxlan.calico").effective, 1);
  in.all = 2;
  EXPECT_EQ(effective_rp_filter(in, "eth0").effective, 2);
  EXPECT_EQ(effective_rp_filter(in, "vxlan.calico").effective, 2);
}

TEST(RpFilter, SettingAllToZeroLowersNothingSoTheFixNamesTheDevice) {
  auto e = effective_rp_filter({0, 0, {{"vxlan.calico", 1}}}, "vxlan.calico");
  EXPECT_EQ(rp_filter_fix(e), Cmds{"sysctl -w net/ipv4/conf/vxlan.calico/rp_filter=0"});
}

TEST(RpFilter, AllAboveTheDeviceIsTheKnobToLower) {
  auto e = effective_rp_filter({1, 0, {{"eth0", 0}}}, "eth0");
  EXPECT_EQ(rp_filter_fix(e), Cmds{"sysctl -w net/ipv4/conf/all/rp_filter=0"});
  auto both = effective_rp_filter({2, 0, {{"eth0", 1}}}, "eth0");
  EXPECT_EQ(rp_filter_fix(both).size(), 2u);
}

TEST(RpFilter, PersistentFixUsesSlashFormForDottedDeviceNames) {
  auto lines =
      rp_filter_persistent(effective_rp_filter({0, 0, {{"vxlan.calico", 1}}}, "vxlan.calico"));
  EXPECT_NE(std::find(lines.begin(), lines.end(), "  net/ipv4/conf/vxlan.calico/rp_filter = 0"),
            lines.end());
}

TEST(RpFilterFindings, LiveDropsNameTheDeviceTheEffectiveValueAndTheFix) {
  LiveEvidence live;
  live.observed = true;
  live.seconds = 2;
  live.rp_filter_by_dev["vxlan.calico"] = 50;
  live.rp_filter_sources["vxlan.calico"] = {"10.244.77.5"};
  live.counters_after[kRpFilterCounter] = 50;
  RpFilterInput rp{0, 0, {{"vxlan.calico", 1}, {"eth0", 0}}};
  auto f = rp_filter_findings(rp, live, {"eth0", "vxlan.calico"});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "rp_filter_drops");
  EXPECT_EQ(f[0].basis, Evidence::live_drops);
  EXPECT_EQ(f[0].evidence["drops"], 50);
  EXPECT_EQ(f[0].evidence["effective"], 1);
  EXPECT_EQ(f[0].evidence["kernel_TcpExt_IPReversePathFilter"], 50);
  EXPECT_EQ(f[0].fix_now, Cmds{"sysctl -w net/ipv4/conf/vxlan.calico/rp_filter=0"});
  EXPECT_NE(f[0].root_cause.find("lowers nothing"), std::string::npos);
}

TEST(RpFilterFindings, StrictOnTunnelPathWarnsButCaliStrictIsCalicosOwnChoice) {
  RpFilterInput rp{0, 0, {{"vxlan.calico", 1}, {"eth0", 2}, {"cali123", 1}}};
  auto f = rp_filter_findings(rp, LiveEvidence{}, {"eth0", "vxlan.calico"});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "rp_filter_strict");
  EXPECT_EQ(f[0].evidence["dev"], "vxlan.calico");
}

TEST(RpFilterFindings, HealthyValuesGiveNothing) {
  RpFilterInput rp{0, 0, {{"vxlan.calico", 0}, {"eth0", 2}, {"cali123", 1}}};
  EXPECT_TRUE(rp_filter_findings(rp, LiveEvidence{}, {"eth0", "vxlan.calico"}).empty());
}

}  // namespace
}  // namespace vxt::doctor
