// A clsact filter's claim is held exactly as long as the object that took it lives.
#include "kernel/filter_claim.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace vxt {
namespace {

TEST(FilterClaim, HeldWhileItsOwnerLives) {
  // An ifindex no device has and this process's pid as the program id: no clash with a real
  // vxtrace in this network namespace.
  const int ifindex = 0x7fff0000;
  const auto prog_id = static_cast<uint32_t>(getpid());
  EXPECT_FALSE(FilterClaim::held(ifindex, prog_id));
  {
    auto claim = FilterClaim::take(ifindex, prog_id);
    ASSERT_TRUE(claim.valid());
    EXPECT_TRUE(FilterClaim::held(ifindex, prog_id));
    EXPECT_FALSE(FilterClaim::held(ifindex, prog_id + 1)) << "another program: not claimed";
    EXPECT_FALSE(FilterClaim::held(ifindex + 1, prog_id)) << "another device: not claimed";
    auto moved = std::move(claim);
    EXPECT_TRUE(FilterClaim::held(ifindex, prog_id));
  }
  EXPECT_FALSE(FilterClaim::held(ifindex, prog_id)) << "released with its owner";
}

}  // namespace
}  // namespace vxt
