#include "kernel/drop_reasons.hpp"

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "kernel/cause_table.hpp"
#include "kernel/kernel_btf.hpp"

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

TEST(KernelBtf, CorruptFileIsOneLineError) {
  std::ifstream real("/sys/kernel/btf/vmlinux", std::ios::binary);
  if (!real) GTEST_SKIP() << "no kernel BTF";
  std::string bytes((std::istreambuf_iterator<char>(real)), {});
  ASSERT_TRUE(read_kernel_btf());
  const std::string path = ::testing::TempDir() + "vxt_btf_test";
  for (const std::string& data :
       {bytes.substr(0, 3000), std::string(4096, '\x5a'), std::string()}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
    auto r = read_kernel_btf(path);
    ASSERT_FALSE(r) << data.size() << " bytes";
    std::string msg = r.error().what();
    EXPECT_NE(msg.find("not valid BTF"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_FALSE(read_kernel_btf(path + ".missing"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vxt
