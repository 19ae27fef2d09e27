#include "modes/doctor/kernel_version.hpp"

#include <gtest/gtest.h>

namespace vxt::doctor {
namespace {

bool fixed(const char* release) { return has_inner_csum_fix(*parse_kernel_release(release)); }

TEST(KernelVersion, ParsesDistributionReleases) {
  auto v = parse_kernel_release("5.4.40-1-amd64");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (KernelVersion{5, 4, 40}));
  EXPECT_EQ(*parse_kernel_release("6.1-rc3"), (KernelVersion{6, 1, 0}));
  EXPECT_FALSE(parse_kernel_release("garbage"));
}

TEST(KernelVersion, InnerChecksumFixPerStableLine) {
  EXPECT_FALSE(fixed("5.4.40"));
  EXPECT_TRUE(fixed("5.4.41"));
  EXPECT_FALSE(fixed("4.19.122-generic"));
  EXPECT_TRUE(fixed("4.19.123"));
  EXPECT_FALSE(fixed("4.14.180"));
  EXPECT_TRUE(fixed("4.14.181"));
  EXPECT_FALSE(fixed("5.6.12"));
  EXPECT_TRUE(fixed("5.6.13"));
  EXPECT_FALSE(fixed("5.5.19"));  // a line that never got the backport
  EXPECT_TRUE(fixed("6.18.44-fc-v669"));
}

TEST(KernelVersion, CheckWarnsOnlyWhenTheOffloadIsOnToo) {
  EXPECT_EQ(kernel_check("5.4.40", true).status, "warn");
  EXPECT_EQ(kernel_check("5.4.40", false).status, "ok");
  EXPECT_EQ(kernel_check("6.1.0", true).status, "ok");
  EXPECT_EQ(kernel_check("5.4.40", true).data["inner_csum_bug_fixed"], false);
}

}  // namespace
}  // namespace vxt::doctor
