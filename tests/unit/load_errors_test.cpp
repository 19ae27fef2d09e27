#include "kernel/load_errors.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace vxt {
namespace {

// What libbpf 1.1 logged when 6.1's verifier rejected vxtrace 0.1's kfree_skb program.
constexpr const char* kRejected =
    "libbpf: prog 'vxt_kfree_skb_no_rx_sk': BPF program load failed: Permission denied\n"
    "libbpf: prog 'vxt_kfree_skb_no_rx_sk': -- BEGIN PROG LOAD LOG --\n"
    "reg type unsupported for arg#0 function vxt_kfree_skb_no_rx_sk#38\n"
    "110: (55) if r0 != 0x0 goto pc+58     ; R0=0\n"
    "111: (71) r2 = *(u8 *)(r7 +13)\n"
    "R7 invalid mem access 'scalar'\n"
    "processed 1234 insns (limit 1000000) max_states_per_insn 4 total_states 90\n"
    "-- END PROG LOAD LOG --\n"
    "libbpf: prog 'vxt_kfree_skb_no_rx_sk': failed to load: -13\n"
    "libbpf: failed to load object 'vxtrace_bpf'\n";

TEST(LoadErrors, AVerifierRejectionNamesTheProgramAndItsVerdict) {
  EXPECT_EQ(failed_program(kRejected), "vxt_kfree_skb_no_rx_sk");
  EXPECT_EQ(verifier_verdict(kRejected), "R7 invalid mem access 'scalar'");
  EXPECT_EQ(load_failure(-EACCES, kRejected, "6.1.0-18-amd64"),
            "Linux 6.1.0-18-amd64 rejected BPF program vxt_kfree_skb_no_rx_sk: R7 invalid mem "
            "access 'scalar' (--log-level debug shows the verifier's log)");
}

TEST(LoadErrors, TooFewFileDescriptorsIsNotARejection) {
  auto msg = load_failure(-EMFILE, kRejected, "6.18.0");
  EXPECT_NE(msg.find("too many open files"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("rejected"), std::string::npos) << msg;
}

TEST(LoadErrors, OtherFailuresKeepTheirErrno) {
  auto msg = load_failure(-ENOENT, "libbpf: failed to find BTF for extern 'x'\n", "5.10.0");
  EXPECT_EQ(msg, "cannot load the BPF programs into Linux 5.10.0: No such file or directory");
  EXPECT_EQ(failed_program(""), "");
  EXPECT_EQ(verifier_verdict(""), "");
}

}  // namespace
}  // namespace vxt
