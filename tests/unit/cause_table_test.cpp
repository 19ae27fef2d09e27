#include "kernel/cause_table.hpp"

#include <gtest/gtest.h>

namespace vxt {
namespace {

TEST(CauseTable, MapsKernelReasonsToCauses) {
  EXPECT_EQ(cause_for_reason("UDP_CSUM"), VXT_CAUSE_CHECKSUM);
  EXPECT_EQ(cause_for_reason("TCP_CSUM"), VXT_CAUSE_CHECKSUM);
  EXPECT_EQ(cause_for_reason("IP_CSUM"), VXT_CAUSE_CHECKSUM);
  EXPECT_EQ(cause_for_reason("ICMP_CSUM"), VXT_CAUSE_CHECKSUM);
  EXPECT_EQ(cause_for_reason("SKB_CSUM"), VXT_CAUSE_CHECKSUM);
  EXPECT_EQ(cause_for_reason("IP_RPFILTER"), VXT_CAUSE_RP_FILTER);
  EXPECT_EQ(cause_for_reason("NETFILTER_DROP"), VXT_CAUSE_NETFILTER);
  EXPECT_EQ(cause_for_reason("VXLAN_VNI_NOT_FOUND"), VXT_CAUSE_VXLAN);
  EXPECT_EQ(cause_for_reason("VXLAN_INVALID_HDR"), VXT_CAUSE_VXLAN);
  EXPECT_EQ(cause_for_reason("MAC_INVALID_SOURCE"), VXT_CAUSE_VXLAN);
  EXPECT_EQ(cause_for_reason("NOT_SPECIFIED"), VXT_CAUSE_BACKGROUND);
  EXPECT_EQ(cause_for_reason("QUEUE_PURGE"), VXT_CAUSE_BACKGROUND);
  EXPECT_EQ(cause_for_reason("NO_SOCKET"), VXT_CAUSE_OTHER);
  // A future kernel's new checksum reason needs no table change.
  EXPECT_EQ(cause_for_reason("SCTP_CSUM"), VXT_CAUSE_CHECKSUM);
}

TEST(CauseTable, NamesRoundTrip) {
  for (uint8_t c = 0; c < VXT_CAUSE_COUNT; ++c) EXPECT_EQ(cause_from_name(cause_name(c)), c);
  EXPECT_FALSE(cause_from_name("bogus"));
}

TEST(CauseTable, ParsesCauseLists) {
  EXPECT_EQ(*parse_cause_list("checksum,rp_filter"),
            (1u << VXT_CAUSE_CHECKSUM) | (1u << VXT_CAUSE_RP_FILTER));
  EXPECT_EQ(*parse_cause_list("all"), (1u << VXT_CAUSE_COUNT) - 1);
  EXPECT_EQ(*parse_cause_list("default"), default_stream_mask());
  EXPECT_FALSE(default_stream_mask() & (1u << VXT_CAUSE_BACKGROUND));
  auto bad = parse_cause_list("checksum,bogus");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("unknown cause 'bogus'"), std::string::npos);
  EXPECT_FALSE(parse_cause_list(","));
}

}  // namespace
}  // namespace vxt
