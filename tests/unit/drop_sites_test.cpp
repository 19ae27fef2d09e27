#include "kernel/drop_sites.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "kernel/cause_table.hpp"

namespace vxt {
namespace {

Symbolizer symbols(const char* kallsyms) {
  std::istringstream in(kallsyms);
  return Symbolizer::from_stream(in);
}

TEST(DropSites, PlacesTheRulesAtTheKernelsAddresses) {
  auto sites = resolve_drop_sites(
      symbols("ffffffff81000000 T _stext\n"
              "ffffffff81a00000 t udp_queue_rcv_one_skb.isra.0\n"  // a compiler clone
              "ffffffff81a00400 T udp_queue_rcv_skb\n"
              "ffffffff81a00800 T udp_rcv\n"
              "ffffffff81b00000 T nf_hook_slow\n"
              "ffffffff81b00200 T nf_hook_slow_list\n"  // another function, not a clone
              "ffffffffc0400000 t vxlan_rcv\t[vxlan]\n"
              "ffffffffc0400900 t vxlan_xmit\t[vxlan]\n"));
  ASSERT_EQ(sites.size(), 4u);
  EXPECT_EQ(sites[0].start, 0xffffffff81a00000u);
  EXPECT_EQ(sites[0].end, 0xffffffff81a00400u);
  EXPECT_EQ(sites[0].cause, VXT_CAUSE_CHECKSUM);
  EXPECT_EQ(sites[0].check, VXT_SITE_CHECK_L4_CSUM);
  EXPECT_EQ(sites[1].end, 0xffffffff81a00800u);
  EXPECT_EQ(sites[2].start, 0xffffffff81b00000u);
  EXPECT_EQ(sites[2].end, 0xffffffff81b00200u);
  EXPECT_EQ(sites[2].cause, VXT_CAUSE_NETFILTER);
  EXPECT_EQ(sites[2].check, VXT_SITE_CHECK_NONE);
  EXPECT_EQ(sites[3].start, 0xffffffffc0400000u);  // module symbols count too
  EXPECT_EQ(sites[3].cause, VXT_CAUSE_VXLAN);
}

TEST(DropSites, HiddenAddressesGiveNoSites) {
  // kptr_restrict shows every address as 0 to a reader without CAP_SYSLOG.
  EXPECT_TRUE(resolve_drop_sites(symbols("0000000000000000 T nf_hook_slow\n"
                                         "0000000000000000 T vxlan_rcv\n"))
                  .empty());
}

TEST(DropSites, StripsCompilerSuffixes) {
  EXPECT_EQ(base_symbol_name("ip_rcv_finish_core.constprop.0"), "ip_rcv_finish_core");
  EXPECT_EQ(base_symbol_name("tcp_v4_rcv"), "tcp_v4_rcv");
}

TEST(DropSites, EveryRuleNamesARealCause) {
  for (const auto& r : drop_site_rules()) {
    EXPECT_LT(r.cause, VXT_CAUSE_COUNT) << r.function;
    EXPECT_LE(r.check, VXT_SITE_CHECK_RPFILTER_MIB) << r.function;
  }
}

TEST(ReasonTable, NotSpecifiedAsksTheSiteTable) {
  EXPECT_EQ(reason_table_entry("UDP_CSUM", true), VXT_CAUSE_CHECKSUM);
  // Where the kernel names reasons, an unnamed drop no site explains is the noise...
  EXPECT_EQ(reason_table_entry("NOT_SPECIFIED", true), VXT_CAUSE_BY_SITE | VXT_CAUSE_BACKGROUND);
  // ...where it names none, it is a drop vxtrace cannot explain: never a guessed cause.
  EXPECT_EQ(reason_table_entry("NOT_SPECIFIED", false), VXT_CAUSE_BY_SITE | VXT_CAUSE_OTHER);
}

}  // namespace
}  // namespace vxt
