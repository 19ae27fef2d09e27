#include "sys/result.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace vxt {
namespace {

Result<void> step(bool fail) {
  if (fail) return errno_error("step", ENOENT);
  return {};
}

TEST(Result, VoidIsSuccessOrAnError) {
  EXPECT_TRUE(step(false));
  auto r = step(true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, ENOENT);
  EXPECT_EQ(r.error().what(), "step: No such file or directory");
}

TEST(Result, MustThrowsTheErrorOfAVoidStep) {
  EXPECT_NO_THROW(must(step(false)));
  EXPECT_THROW(must(step(true)), FatalError);
}

}  // namespace
}  // namespace vxt
