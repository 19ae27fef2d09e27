// Which clsact filters are vxtrace's own and stale, from recorded inputs: what a filter dump
// says, what the program says of itself, and whether anyone holds it.
#include "kernel/stale_filters.hpp"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <set>

#include "kernel/tc_attach.hpp"
#include "vxtrace/abi.h"

// After abi.h: the skeleton names its types.
#include "vxtrace.skel.h"

namespace vxt {
namespace {

constexpr BpfTag kOurTag = {0x26, 0x53, 0x34, 0x2c, 0x73, 0xca, 0x30, 0x71};
constexpr BpfTag kOtherTag = {0x32, 0xbc, 0x2d, 0x21, 0x26, 0x11, 0x12, 0x6b};

// As `tc filter show` lists what a SIGKILLed vxtrace left: pref 1, handle 0x7678, prog 713.
TcFilter vxtrace_filter() {
  TcFilter f;
  f.handle = kClsactHandle;
  f.priority = 1;
  f.protocol = ETH_P_ALL;
  f.kind = "bpf";
  f.prog_id = 713;
  f.prog_tag = kOurTag;
  f.name = "vxt_tc_underlay:[713]";
  return f;
}

const ProgIdentity kUnderlay{"vxt_tc_underlay", BPF_PROG_TYPE_SCHED_CLS};

struct Held {
  bool value;
  int asked = 0;
  std::function<bool()> fn() {
    return [this] {
      ++asked;
      return value;
    };
  }
};

TEST(StaleFilters, OursAndHeldByNobodyIsStale) {
  Held nobody{false};
  EXPECT_EQ(judge_filter(vxtrace_filter(), kUnderlay, kOurTag, nobody.fn()), FilterVerdict::stale);
  EXPECT_EQ(judge_filter(vxtrace_filter(), ProgIdentity{"vxt_tc_overlay", BPF_PROG_TYPE_SCHED_CLS},
                         kOtherTag, nobody.fn()),
            FilterVerdict::stale)
      << "the program's own name decides, whatever the tag (another vxtrace build)";
}

TEST(StaleFilters, AConcurrentVxtracesFilterIsLive) {
  Held alive{true};
  EXPECT_EQ(judge_filter(vxtrace_filter(), kUnderlay, kOurTag, alive.fn()), FilterVerdict::live);
  EXPECT_EQ(alive.asked, 1);
}

TEST(StaleFilters, ForeignWhenAnythingVxtraceSetsDiffers) {
  Held nobody{false};
  auto judge = [&](const TcFilter& f, const ProgIdentity& p = kUnderlay) {
    return judge_filter(f, p, kOurTag, nobody.fn());
  };
  auto f = vxtrace_filter();
  f.handle = 1;  // tc's default
  EXPECT_EQ(judge(f), FilterVerdict::foreign);
  f = vxtrace_filter();
  f.kind = "u32";
  EXPECT_EQ(judge(f), FilterVerdict::foreign);
  f = vxtrace_filter();
  f.chain = 3;
  EXPECT_EQ(judge(f), FilterVerdict::foreign);
  f = vxtrace_filter();
  f.protocol = ETH_P_IP;
  EXPECT_EQ(judge(f), FilterVerdict::foreign);
  f = vxtrace_filter();
  f.prog_id = 0;  // the dump's per-priority header entry
  f.handle = 0;
  EXPECT_EQ(judge(f), FilterVerdict::foreign);
  // Our handle, another program: tests/bpf/progs/peer_tc_counter.bpf.c attached with 0x7678.
  EXPECT_EQ(judge(vxtrace_filter(), {"peer_next", BPF_PROG_TYPE_SCHED_CLS}),
            FilterVerdict::foreign);
  EXPECT_EQ(judge(vxtrace_filter(), {"vxt_tc_underlay", BPF_PROG_TYPE_XDP}),
            FilterVerdict::foreign);
  EXPECT_EQ(nobody.asked, 0) << "nobody's liveness is looked up for a foreign filter";
}

TEST(StaleFilters, WithoutCapSysAdminOnlyTheSameInstructionsIdentify) {
  Held nobody{false};
  // The program cannot be read by id: its tag must be the one being attached.
  EXPECT_EQ(judge_filter(vxtrace_filter(), std::nullopt, kOurTag, nobody.fn()),
            FilterVerdict::stale);
  EXPECT_EQ(judge_filter(vxtrace_filter(), std::nullopt, kOtherTag, nobody.fn()),
            FilterVerdict::unidentified);
  EXPECT_EQ(judge_filter(vxtrace_filter(), std::nullopt, BpfTag{}, nobody.fn()),
            FilterVerdict::unidentified)
      << "our own tag unreadable: nothing matches";
  auto f = vxtrace_filter();
  f.prog_tag = kOtherTag;
  f.name = "vxt_tc_underlay:[713]";  // the filter's name is free text: never trusted
  EXPECT_EQ(judge_filter(f, std::nullopt, kOurTag, nobody.fn()), FilterVerdict::unidentified);
  EXPECT_EQ(nobody.asked, 1);
}

TEST(StaleFilters, ProgIdFromFdinfo) {
  // /proc/PID/fdinfo/N of a program fd and of a tcx link fd (Linux 6.18), and of a map fd.
  EXPECT_EQ(fdinfo_prog_id("pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t1057\n"
                           "prog_type:\t3\nprog_jited:\t1\nprog_tag:\t2653342c73ca3071\n"
                           "memlock:\t4096\nprog_id:\t713\nrun_time_ns:\t0\nrun_cnt:\t0\n"
                           "recursion_misses:\t0\nverified_insns:\t321\n"),
            713u);
  EXPECT_EQ(fdinfo_prog_id("pos:\t0\nflags:\t02000000\nmnt_id:\t16\nino:\t1057\n"
                           "link_type:\ttcx\nlink_id:\t300\nprog_tag:\t2653342c73ca3071\n"
                           "prog_id:\t1815\nifindex:\t2\nattach_type:\t46\n"),
            1815u);
  EXPECT_EQ(fdinfo_prog_id("pos:\t0\nflags:\t02000002\nmap_type:\t27\nkey_size:\t0\n"
                           "value_size:\t0\nmax_entries:\t1048576\nmap_id:\t98\n"),
            std::nullopt);
  EXPECT_EQ(fdinfo_prog_id("prog_id:\t0\n"), std::nullopt);
  EXPECT_EQ(fdinfo_prog_id(""), std::nullopt);
}

// An RTM_NEWTFILTER as cls_bpf_dump() writes it, for the filter above.
std::vector<char> filter_message(uint32_t handle, bool with_options) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_NEWTFILTER;
  auto* tcm = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  tcm->tcm_ifindex = 2;
  tcm->tcm_handle = handle;
  tcm->tcm_parent = 0xfffffff2;
  tcm->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL));
  mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
  mnl_attr_put_u32(nlh, TCA_CHAIN, 0);
  if (with_options) {
    nlattr* opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
    mnl_attr_put_u32(nlh, TCA_BPF_FD, 0);
    mnl_attr_put_strz(nlh, TCA_BPF_NAME, "vxt_tc_underlay:[713]");
    mnl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
    mnl_attr_put(nlh, TCA_BPF_TAG, kOurTag.size(), kOurTag.data());
    mnl_attr_put_u32(nlh, TCA_BPF_ID, 713);
    mnl_attr_nest_end(nlh, opts);
  }
  buf.resize(nlh->nlmsg_len);
  return buf;
}

TEST(StaleFilters, ParsesAFilterDumpMessage) {
  auto msg = filter_message(kClsactHandle, true);
  TcFilter f;
  ASSERT_TRUE(parse_tc_filter(reinterpret_cast<const nlmsghdr*>(msg.data()), f));
  EXPECT_EQ(f.handle, kClsactHandle);
  EXPECT_EQ(f.priority, 1u);
  EXPECT_EQ(f.protocol, ETH_P_ALL);
  EXPECT_EQ(f.chain, 0u);
  EXPECT_EQ(f.kind, "bpf");
  EXPECT_EQ(f.prog_id, 713u);
  EXPECT_EQ(f.prog_tag, kOurTag);
  EXPECT_EQ(f.name, "vxt_tc_underlay:[713]");
  Held nobody{false};
  EXPECT_EQ(judge_filter(f, kUnderlay, kOurTag, nobody.fn()), FilterVerdict::stale);

  auto header = filter_message(0, false);  // the priority's own entry, before its filters
  ASSERT_TRUE(parse_tc_filter(reinterpret_cast<const nlmsghdr*>(header.data()), f));
  EXPECT_EQ(f.handle, 0u);
  EXPECT_EQ(f.priority, 1u);
  EXPECT_EQ(f.prog_id, 0u);
  EXPECT_EQ(judge_filter(f, std::nullopt, kOurTag, nobody.fn()), FilterVerdict::foreign);

  auto other = filter_message(kClsactHandle, true);
  reinterpret_cast<nlmsghdr*>(other.data())->nlmsg_type = NLMSG_ERROR;
  EXPECT_FALSE(parse_tc_filter(reinterpret_cast<const nlmsghdr*>(other.data()), f));
}

// kTcProgramNames must follow bpf/vxtrace.bpf.c: a renamed program would never be recognised.
TEST(StaleFilters, TcProgramNamesAreTheObjectsTcPrograms) {
  vxtrace_bpf* skel = vxtrace_bpf__open();
  ASSERT_NE(skel, nullptr);
  std::set<std::string> tc_programs;
  bpf_program* p;
  bpf_object__for_each_program(p, skel->obj) {
    if (std::string_view(bpf_program__section_name(p)) == "tc")
      tc_programs.insert(bpf_program__name(p));
  }
  vxtrace_bpf__destroy(skel);
  std::set<std::string> names(kTcProgramNames.begin(), kTcProgramNames.end());
  EXPECT_EQ(tc_programs, names);
  for (auto n : kTcProgramNames) EXPECT_LT(n.size(), 16u) << n << ": BPF_OBJ_NAME_LEN cuts it";
}

}  // namespace
}  // namespace vxt
