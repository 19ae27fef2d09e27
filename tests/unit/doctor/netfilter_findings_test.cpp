#include <gtest/gtest.h>

#include "ipv4.hpp"
#include "modes/doctor/findings.hpp"
#include "modes/doctor/live.hpp"

namespace vxt::doctor {
namespace {

DropRecord policy_drop(uint16_t dport) {
  DropRecord d;
  d.cause = Cause::netfilter;
  d.reason = "NETFILTER_DROP";
  d.flow =
      FlowRecord{test::ip("10.244.1.10"), test::ip("10.244.2.10"), IPPROTO_UDP, 40000, dport, 0};
  d.tunnel = TunnelRecord{test::ip("192.0.2.1"), test::ip("192.0.2.2"), 4096, TunnelSource::joined,
                          RxCsum::software};
  d.rule = RuleRecord{"ip",
                      "filter",
                      "cali-tw-cali1234abcd",
                      57,
                      "cali:Ju2pNmrABpXNVMtO Drop if no profiles matched",
                      false};
  return d;
}

TEST(NetfilterFindings, NetworkPolicyDenialNamesPortPodAndRule) {
  LiveCollector c(0);
  for (int i = 0; i < 40; ++i) c.add(policy_drop(7777));
  c.add(policy_drop(53));
  auto& live = c.evidence();
  live.observed = true;
  live.seconds = 10;
  live.summary.netfilter_rules = {{*policy_drop(0).rule, 41},
                                  {{"ip", "filter", "cali-tw-x", 3, "cali:a", true}, 9}};
  auto f = netfilter_findings(live);
  ASSERT_EQ(f.size(), 1u) << "the INVALID rule is conntrack_findings' own";
  EXPECT_EQ(f[0].id, "networkpolicy_drops");
  EXPECT_EQ(f[0].title,
            "NetworkPolicy denies UDP 7777 to the pod behind cali1234abcd (41 drops in 10 s); no "
            "policy allows it");
  EXPECT_EQ(f[0].fix_now[0].rfind("nft -a list chain ip filter cali-tw-cali1234abcd", 0), 0u);
  EXPECT_EQ(f[0].evidence["handle"], 57);
  EXPECT_EQ(f[0].weight, 41u);
}

TEST(NetfilterFindings, PlainRuleIsNamedWithoutPolicyWords) {
  LiveEvidence live;
  live.observed = true;
  live.seconds = 5;
  live.summary.netfilter_rules = {{{"ip", "filter", "INPUT", 2, "ufw-block", false}, 20}};
  auto f = netfilter_findings(live);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "netfilter_rule_drops");
  EXPECT_EQ(f[0].title, "netfilter rule filter/INPUT #2 dropped 20 packets in 5 s");
  live.observed = false;
  EXPECT_TRUE(netfilter_findings(live).empty());
}

}  // namespace
}  // namespace vxt::doctor
