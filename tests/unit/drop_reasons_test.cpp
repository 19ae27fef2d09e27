#include "drop_reasons.hpp"

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include "cause_table.hpp"
#include "kernel_btf.hpp"

namespace vxt {
namespace {

TEST(DropReasons, NamesFallBackForUnknownValues) {
  auto r = DropReasons::from_entries({{2, "NOT_SPECIFIED"}, {11, "UDP_CSUM"}});
  EXPECT_EQ(r.name(11), "UDP_CSUM");
  EXPECT_EQ(r.name(999), "REASON_999");
}

// Reads the running kernel's BTF: the names vxtrace classifies by must be there.
TEST(DropReasons, ReadsTheRunningKernelsEnum) {
  auto r = DropReasons::from_vmlinux();
  if (!r) GTEST_SKIP() << r.error().what();
  bool udp_csum = false;
  for (const auto& e : r->entries()) {
    EXPECT_NE(e.name, "MAX");
    EXPECT_EQ(e.name.rfind("SKB_DROP_REASON_", 0), std::string::npos);
    if (e.name == "UDP_CSUM") {
      udp_csum = true;
      EXPECT_EQ(cause_for_reason(e.name), VXT_CAUSE_CHECKSUM);
    }
    EXPECT_LT(e.value, VXT_MAX_REASONS) << e.name << " would share the overflow slot";
  }
  EXPECT_TRUE(udp_csum);
}

TEST(KernelBtf, CountsTracepointArguments) {
  struct btf* btf = btf__load_vmlinux_btf();
  if (!btf) GTEST_SKIP() << "no kernel BTF";
  EXPECT_GE(tracepoint_arg_count(btf, "kfree_skb"), 3);    // skb, location, reason (+ rx_sk)
  EXPECT_EQ(tracepoint_arg_count(btf, "consume_skb"), 2);  // skb, location
  EXPECT_EQ(tracepoint_arg_count(btf, "no_such_tracepoint"), -1);
  btf__free(btf);
}

}  // namespace
}  // namespace vxt
