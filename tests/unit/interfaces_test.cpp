#include "sys/interfaces.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace vxt {
namespace {

TEST(Interfaces, FindsTheDefaultRouteDevice) {
  std::istringstream in(
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "ens5\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
  EXPECT_EQ(default_route_device(in), "ens5");
}

TEST(Interfaces, NoDefaultRoute) {
  std::istringstream in(
      "Iface\tDestination\tGateway\n"
      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
  EXPECT_EQ(default_route_device(in), std::nullopt);
}

TEST(Interfaces, MissingInterfaceIsAClearError) {
  auto r = find_interface("vxt-no-such-if");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("no interface 'vxt-no-such-if'"), std::string::npos);
}

}  // namespace
}  // namespace vxt
