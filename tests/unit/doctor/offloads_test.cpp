#include "modes/doctor/offloads.hpp"

#include <gtest/gtest.h>

namespace vxt::doctor {
namespace {

DeviceOffloads x710() {
  return {"eth0",
          DriverInfo{"i40e", "2.8.20-k", "6.01 0x800034a4 1.1747.0", "0000:3b:00.0"},
          {{kTunnelSegmentation, true}, {kTunnelCsumSegmentation, true}, {kInnerCsum, false}}};
}

TEST(Offloads, OuterChecksumOffloadsListedInFixOrder) {
  EXPECT_EQ(outer_csum_offloads_on(x710()),
            (std::vector<std::string>{kTunnelCsumSegmentation, kTunnelSegmentation}));
  auto d = x710();
  d.features[kTunnelSegmentation] = false;
  d.features[kTunnelCsumSegmentation] = false;
  EXPECT_TRUE(outer_csum_offloads_on(d).empty());
}

TEST(Offloads, KnownRiskyDriverMakesTheCheckWarn) {
  EXPECT_TRUE(driver_known_risky(*x710().driver));
  EXPECT_EQ(offloads_check({x710()}, {}).status, "warn");
  auto veth = x710();
  veth.driver->driver = "veth";
  EXPECT_EQ(offloads_check({veth}, {}).status, "ok");
}

TEST(Offloads, CheckDataCarriesDriverAndFeatures) {
  auto r = offloads_check({x710()}, {});
  EXPECT_EQ(r.data[0]["driver"]["firmware"], "6.01 0x800034a4 1.1747.0");
  EXPECT_EQ(r.data[0]["features"][kTunnelCsumSegmentation], true);
  EXPECT_NE(r.detail.find("i40e"), std::string::npos);
}

TEST(Offloads, ReadsLoopbackThroughTheIoctl) {
  auto r = read_offloads("lo");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->features.empty());  // names come from the kernel's ETH_SS_FEATURES set
  EXPECT_FALSE(read_offloads("no-such-dev0"));
}

}  // namespace
}  // namespace vxt::doctor
