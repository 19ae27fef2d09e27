#include "decode/cause_decision.hpp"

#include <gtest/gtest.h>

#include "kernel/cause_table.hpp"

namespace vxt {
namespace {

// What the decoder makes of a netfilter drop, then what the rule attribution names.
DropRecord netfilter_drop(std::optional<bool> rule_ct_invalid) {
  DropRecord r;
  r.cause = Cause::netfilter;
  r.reason = "NETFILTER_DROP";
  if (rule_ct_invalid) {
    r.rule = RuleRecord{"ip", "filter", "cali-tw-cali1", 3, "cali:xQhK", *rule_ct_invalid};
  }
  return r;
}

CauseMask selection(const char* causes) { return *parse_cause_list(causes); }

TEST(FinalCause, ARuleMatchingInvalidMakesANetfilterDropConntracks) {
  EXPECT_EQ(final_cause(netfilter_drop(true)), Cause::conntrack);
  EXPECT_EQ(final_cause(netfilter_drop(false)), Cause::netfilter);
  EXPECT_EQ(final_cause(netfilter_drop(std::nullopt)), Cause::netfilter);  // rule unknown
}

TEST(FinalCause, OtherCausesStayAsDecoded) {
  DropRecord r;
  r.cause = Cause::checksum;
  EXPECT_EQ(final_cause(r), Cause::checksum);
  r.cause = Cause::vxlan;
  r.rule = RuleRecord{"ip", "filter", "INPUT", 1, std::nullopt, true};  // cannot happen; still
  EXPECT_EQ(final_cause(r), Cause::vxlan);
}

TEST(FinalCause, DecidingTwiceChangesNothingAndTheKernelsCauseIsKept) {
  auto r = netfilter_drop(true);
  r.cause = final_cause(r);
  EXPECT_EQ(final_cause(r), Cause::conntrack);
  EXPECT_EQ(kernel_cause(r), Cause::netfilter);  // what drop_counts and peer_drops hold
  auto plain = netfilter_drop(false);
  plain.cause = final_cause(plain);
  EXPECT_EQ(kernel_cause(plain), Cause::netfilter);
  DropRecord checksum;
  checksum.cause = Cause::checksum;
  EXPECT_EQ(kernel_cause(checksum), Cause::checksum);
}

TEST(BpfStreamMask, SelectingConntrackStreamsNetfilterToo) {
  EXPECT_EQ(bpf_stream_mask(selection("conntrack")),
            cause_bit(Cause::conntrack) | cause_bit(Cause::netfilter));
  EXPECT_EQ(bpf_stream_mask(selection("checksum,conntrack")),
            cause_bit(Cause::checksum) | cause_bit(Cause::conntrack) | cause_bit(Cause::netfilter));
}

TEST(BpfStreamMask, OtherSelectionsStreamAsSelected) {
  EXPECT_EQ(bpf_stream_mask(selection("netfilter")), cause_bit(Cause::netfilter));
  EXPECT_EQ(bpf_stream_mask(selection("checksum,rp_filter")),
            cause_bit(Cause::checksum) | cause_bit(Cause::rp_filter));
  EXPECT_EQ(bpf_stream_mask(selection("default")), default_stream_mask());
  EXPECT_EQ(bpf_stream_mask(selection("all")), selection("all"));
}

TEST(Wanted, SelectionIsByFinalCause) {
  auto invalid = netfilter_drop(true), policy = netfilter_drop(false);
  auto unnamed = netfilter_drop(std::nullopt);
  EXPECT_TRUE(wanted(invalid, selection("conntrack")));
  EXPECT_FALSE(wanted(invalid, selection("netfilter")));
  EXPECT_FALSE(wanted(policy, selection("conntrack")));
  EXPECT_TRUE(wanted(policy, selection("netfilter")));
  EXPECT_TRUE(wanted(unnamed, selection("netfilter")));
  EXPECT_FALSE(wanted(unnamed, selection("conntrack")));
  // Before or after the record was relabelled: the same answer.
  invalid.cause = final_cause(invalid);
  EXPECT_TRUE(wanted(invalid, selection("conntrack")));
  EXPECT_FALSE(wanted(invalid, selection("netfilter")));
  EXPECT_TRUE(wanted(invalid, selection("default")));
}

TEST(Wanted, EveryBpfStreamedDropIsEitherWantedOrFilteredNeverBoth) {
  // Whatever BPF streams for a selection and userspace then drops is what events_filtered
  // counts: for conntrack alone, exactly the netfilter drops whose rule is not INVALID.
  auto mask = selection("conntrack");
  auto policy = netfilter_drop(false);
  EXPECT_TRUE(bpf_stream_mask(mask) & cause_bit(kernel_cause(policy)));
  EXPECT_FALSE(wanted(policy, mask));
  auto invalid = netfilter_drop(true);
  EXPECT_TRUE(bpf_stream_mask(mask) & cause_bit(kernel_cause(invalid)));
  EXPECT_TRUE(wanted(invalid, mask));
}

}  // namespace
}  // namespace vxt
