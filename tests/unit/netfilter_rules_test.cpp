#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_state.h>

#include <cstring>

#include "ipv4.hpp"
#include "netfilter/calico_names.hpp"
#include "netfilter/nft_rule.hpp"
#include "netfilter/rule_attribution.hpp"

namespace vxt::nf {
namespace {

NftRule rule(uint64_t handle, std::string chain = "INPUT") {
  NftRule r;
  r.key = {"ip", "filter", std::move(chain), handle};
  r.drops = true;
  r.packets = 1;
  return r;
}

FlowRecord flow(uint8_t proto, const char* src, uint16_t dport) {
  return {test::ip(src), test::ip("10.244.2.10"), proto, 40000, dport, 0};
}

NftRule::AddrMatch prefix(const char* addr, int bits, bool negate) {
  NftRule::AddrMatch m;
  inet_pton(AF_INET, addr, &m.addr);
  m.mask = htonl(bits ? ~0U << (32 - bits) : 0);
  m.negate = negate;
  return m;
}

TEST(PickRule, OneCandidateIsNamedSeveralOnlyWhenTheFlowRulesTheOthersOut) {
  auto icmp = rule(1), udp7777 = rule(2), outsiders = rule(3, "cali-PREROUTING");
  icmp.l4proto = 1;
  udp7777.l4proto = 17;
  udp7777.dport = 7777;
  outsiders.saddr = prefix("10.244.0.0", 16, true);  // ! -s 10.244.0.0/16
  EXPECT_EQ(pick_rule({icmp}, std::nullopt, "eth0")->key.handle, 1u);
  EXPECT_FALSE(pick_rule({}, flow(IPPROTO_UDP, "10.244.1.10", 7777), "eth0"));
  EXPECT_EQ(pick_rule({icmp, udp7777}, flow(IPPROTO_UDP, "10.244.1.10", 7777), "eth0")->key.handle,
            2u);
  EXPECT_FALSE(
      pick_rule({icmp, udp7777}, flow(IPPROTO_UDP, "10.244.1.10", 53), "eth0"));  // none fits
  EXPECT_EQ(
      pick_rule({udp7777, outsiders}, flow(IPPROTO_UDP, "10.244.1.10", 7777), "eth0")->key.handle,
      2u);
  // A source outside the pod network fits both: never a guess.
  EXPECT_FALSE(pick_rule({udp7777, outsiders}, flow(IPPROTO_UDP, "10.99.0.5", 7777), "eth0"));
  EXPECT_FALSE(pick_rule({icmp, udp7777}, std::nullopt, "eth0"));
}

TEST(PickRule, InputDeviceRulesTheOthersOut) {
  auto vxlan_in = rule(1, "cali-PREROUTING"), cali_out = rule(2, "cali-tw-x"),
       not_eth0 = rule(3, "INPUT");
  vxlan_in.iifname = NftRule::IfnameMatch{std::string("vxlan.calico\0\0\0\0", 16), false};
  cali_out.iifname = NftRule::IfnameMatch{"cali", false};  // -i cali+
  not_eth0.iifname = NftRule::IfnameMatch{std::string("eth0\0", 5), true};
  EXPECT_TRUE(vxlan_in.iifname->matches("vxlan.calico"));
  EXPECT_FALSE(vxlan_in.iifname->matches("vxlan.calico2"));
  EXPECT_TRUE(cali_out.iifname->matches("cali1234abcd"));
  EXPECT_FALSE(not_eth0.iifname->matches("eth0"));
  EXPECT_TRUE(not_eth0.iifname->matches("eth00"));
  auto f = flow(IPPROTO_UDP, "10.99.0.5", 7777);
  EXPECT_EQ(pick_rule({vxlan_in, cali_out}, f, "vxlan.calico")->key.handle, 1u);
  EXPECT_EQ(pick_rule({vxlan_in, cali_out}, f, "cali99")->key.handle, 2u);
  EXPECT_EQ(pick_rule({vxlan_in, not_eth0}, f, "eth1")->key.handle, 3u);
  EXPECT_FALSE(pick_rule({vxlan_in, not_eth0}, f, "eth0"));  // neither can have dropped it
  // No device, or one whose bytes were escaped: not compared, so both stay candidates.
  EXPECT_FALSE(pick_rule({vxlan_in, cali_out}, f, ""));
  EXPECT_FALSE(pick_rule({vxlan_in, cali_out}, f, "ca\\xffli"));
}

TEST(XtMatches, ConntrackInvalidInEveryRevisionAndState) {
  xt_conntrack_mtinfo3 ct{};
  ct.match_flags = XT_CONNTRACK_STATE;
  ct.state_mask = XT_CONNTRACK_STATE_INVALID;
  EXPECT_TRUE(xt_matches_invalid("conntrack", 3, &ct, sizeof(ct)));
  EXPECT_TRUE(xt_matches_invalid("conntrack", 2, &ct, sizeof(xt_conntrack_mtinfo2)));
  ct.invert_flags = XT_CONNTRACK_STATE;  // ! --ctstate INVALID
  EXPECT_FALSE(xt_matches_invalid("conntrack", 3, &ct, sizeof(ct)));
  ct.invert_flags = 0;
  ct.state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
  EXPECT_FALSE(xt_matches_invalid("conntrack", 3, &ct, sizeof(ct)));
  xt_conntrack_mtinfo1 v1{};
  v1.match_flags = XT_CONNTRACK_STATE;
  v1.state_mask = XT_CONNTRACK_STATE_INVALID;
  EXPECT_TRUE(xt_matches_invalid("conntrack", 1, &v1, sizeof(v1)));
  EXPECT_FALSE(xt_matches_invalid("conntrack", 3, &ct, 10));  // truncated info
  xt_state_info st{XT_STATE_INVALID};
  EXPECT_TRUE(xt_matches_invalid("state", 0, &st, sizeof(st)));
  EXPECT_FALSE(xt_matches_invalid("comment", 0, &st, sizeof(st)));
}

TEST(XtMatches, CommentIsBoundedByItsBuffer) {
  char info[256];
  std::memset(info, 'x', sizeof(info));  // no NUL: iptables never writes that, a fuzzer might
  EXPECT_EQ(xt_comment(info, sizeof(info))->size(), 256u);
  std::strcpy(info, "cali:Ju2pNmrABpXNVMtO");
  EXPECT_EQ(*xt_comment(info, sizeof(info)), "cali:Ju2pNmrABpXNVMtO");
  EXPECT_FALSE(xt_comment(nullptr, 0));
}

TEST(CalicoNames, SaysWhatTheDropMeans) {
  RuleRecord profile{"ip",
                     "filter",
                     "cali-tw-cali1234abcd",
                     57,
                     "cali:Ju2pNmrABpXNVMtO Drop if no profiles matched",
                     false};
  EXPECT_EQ(calico_meaning(profile),
            "NetworkPolicy: no policy or profile allows traffic to the pod behind cali1234abcd");
  RuleRecord policies = profile;
  policies.chain = "cali-fw-cali99";
  policies.comment = "cali:abc Drop if no policies passed packet";
  EXPECT_EQ(calico_meaning(policies),
            "NetworkPolicy: no policy allows traffic from the pod behind cali99");
  RuleRecord invalid{"ip", "filter", "cali-tw-cali1234abcd", 3, "cali:xQhK", true};
  EXPECT_EQ(calico_meaning(invalid),
            "Calico: conntrack state INVALID to the pod behind cali1234abcd");
  RuleRecord pi{"ip", "filter", "cali-pi-_deny-7777", 9, "cali:x", false};
  EXPECT_EQ(calico_meaning(pi), "NetworkPolicy _deny-7777 (ingress) denies it");
  RuleRecord raw{"ip", "raw", "cali-PREROUTING", 4, "cali:XFX5", false};
  EXPECT_NE(calico_meaning(raw).find("raw-table check"), std::string::npos);
  RuleRecord plain{"ip", "filter", "INPUT", 2, std::nullopt, false};
  EXPECT_EQ(calico_meaning(plain), "");
  EXPECT_EQ(show_rule_command(profile), "nft -a list chain ip filter cali-tw-cali1234abcd");
}

}  // namespace
}  // namespace vxt::nf
