#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_state.h>

#include <cstring>

#include "ipv4.hpp"
#include "netfilter/calico_names.hpp"
#include "netfilter/counter_window.hpp"
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

DropRecord drop(std::optional<FlowRecord> f, std::string ifname = "eth0") {
  DropRecord r;
  r.cause = Cause::netfilter;
  r.flow = f;
  r.ifname = std::move(ifname);
  return r;
}

TEST(CanMatch, ProtocolPortAndAddressesRuleARuleOut) {
  auto icmp = rule(1), udp7777 = rule(2), outsiders = rule(3, "cali-PREROUTING");
  icmp.l4proto = 1;
  udp7777.l4proto = 17;
  udp7777.dport = 7777;
  outsiders.saddr = prefix("10.244.0.0", 16, true);  // ! -s 10.244.0.0/16
  auto pod = drop(flow(IPPROTO_UDP, "10.244.1.10", 7777));
  EXPECT_FALSE(can_match(icmp, pod));
  EXPECT_TRUE(can_match(udp7777, pod));
  EXPECT_FALSE(can_match(udp7777, drop(flow(IPPROTO_UDP, "10.244.1.10", 53))));
  EXPECT_FALSE(can_match(outsiders, pod));
  EXPECT_TRUE(can_match(outsiders, drop(flow(IPPROTO_UDP, "10.99.0.5", 7777))));
  EXPECT_TRUE(can_match(icmp, drop(std::nullopt)));  // nothing to compare: not ruled out
}

TEST(CanMatch, InputDeviceRulesARuleOut) {
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
  EXPECT_TRUE(can_match(vxlan_in, drop(f, "vxlan.calico")));
  EXPECT_FALSE(can_match(cali_out, drop(f, "vxlan.calico")));
  EXPECT_FALSE(can_match(not_eth0, drop(f, "eth0")));
  // No device, or one whose bytes were escaped: not compared.
  EXPECT_TRUE(can_match(vxlan_in, drop(f, "")));
  EXPECT_TRUE(can_match(cali_out, drop(f, "ca\\xffli")));
}

CounterReading reading(std::map<RuleKey, uint64_t> counters, uint64_t version = 7,
                       uint64_t missed = 0) {
  CounterReading r;
  r.counters = std::move(counters);
  r.complete = true;
  r.nft_generation = static_cast<uint32_t>(version);
  r.events_missed = missed;
  return r;
}

TEST(CounterWindow, NamesOnlyTheOneRuleThatRoseByExactlyTheUntracedDrops) {
  RuleKey policy{"ip", "filter", "FORWARD", 0}, input{"ip", "filter", "INPUT", 5},
      raw{"ip", "raw", "cali-PREROUTING", 9};
  auto before = reading({{policy, 10}, {input, 4}, {raw, 0}});
  // One untraced drop; only the FORWARD policy moved, by one: it is the policy's.
  EXPECT_EQ(untraced_rule(before, reading({{policy, 11}, {input, 4}, {raw, 0}}), {std::nullopt}),
            policy);
  // Both moved: the one untraced drop could be either.
  EXPECT_FALSE(
      untraced_rule(before, reading({{policy, 11}, {input, 5}, {raw, 0}}), {std::nullopt}));
  // Unless a trace accounts for the other one.
  EXPECT_EQ(
      untraced_rule(before, reading({{policy, 11}, {input, 5}, {raw, 0}}), {input, std::nullopt}),
      policy);
  // Two untraced drops, one counted: the other was a counter-less rule's.
  EXPECT_FALSE(untraced_rule(before, reading({{policy, 11}, {input, 4}, {raw, 0}}),
                             {std::nullopt, std::nullopt}));
  // A counted drop with no event (lost, rate-limited, another namespace's): nothing named.
  EXPECT_FALSE(
      untraced_rule(before, reading({{policy, 12}, {input, 4}, {raw, 0}}), {std::nullopt}));
  // A trace its rule's counter does not show.
  EXPECT_FALSE(
      untraced_rule(before, reading({{policy, 11}, {input, 4}, {raw, 0}}), {raw, std::nullopt}));
}

TEST(CounterWindow, AnnouncedRuleChangesKeepTheRisesExact) {
  RuleKey input{"ip", "filter", "INPUT", 5}, added{"ip", "filter", "FORWARD", 9};
  auto before = reading({{input, 4}});
  // A rule added (as Felix adds them) and dropping in the window, announced with its counter.
  auto after = reading({{input, 4}, {added, 3}}, 9);
  after.changes.known = true;
  after.changes.created[added] = 0;
  EXPECT_EQ(untraced_rule(before, after, {std::nullopt, std::nullopt, std::nullopt}), added);
  // Replaced in place after it had dropped in the window: the old rule or the new one?
  auto replaced = reading({{input, 2}}, 9);
  replaced.changes = {true, {{input, 0}}, {{input, 5}}};
  EXPECT_FALSE(untraced_rule(before, replaced, {std::nullopt, std::nullopt, std::nullopt}));
  // Replaced before it dropped: the new rule's.
  replaced.changes.deleted[input] = 4;
  EXPECT_EQ(untraced_rule(before, replaced, {std::nullopt, std::nullopt}), input);
  // Not every change known (notifications lost): nothing.
  after.changes.known = false;
  EXPECT_FALSE(untraced_rule(before, after, {std::nullopt, std::nullopt, std::nullopt}));
  // A policy set to drop in the window (iptables -P), announced with the chain's counter then.
  RuleKey policy{"ip", "filter", "FORWARD", 0};
  auto dropping = reading({{input, 4}, {policy, 12}}, 9);
  dropping.changes = {true, {{policy, 10}}, {{policy, 10}}};
  EXPECT_EQ(untraced_rule(before, dropping, {std::nullopt, std::nullopt}), policy);
}

TEST(CounterWindow, AnyChangeOrLossBetweenTheReadingsNamesNothing) {
  RuleKey policy{"ip", "filter", "FORWARD", 0}, input{"ip", "filter", "INPUT", 5};
  auto before = reading({{policy, 10}, {input, 4}});
  EXPECT_TRUE(untraced_rule(before, reading({{policy, 11}, {input, 4}}), {std::nullopt}));
  // The ruleset changed (iptables -R puts a rule back at zero under the same handle).
  EXPECT_FALSE(untraced_rule(before, reading({{policy, 11}, {input, 4}}, 8), {std::nullopt}));
  EXPECT_FALSE(untraced_rule(before, reading({{policy, 11}, {input, 0}}), {std::nullopt}));
  EXPECT_FALSE(untraced_rule(before, reading({{policy, 11}}), {std::nullopt}));
  // Events missed in between.
  EXPECT_FALSE(untraced_rule(before, reading({{policy, 11}, {input, 4}}, 7, 1), {std::nullopt}));
  auto partial = reading({{policy, 11}, {input, 4}});
  partial.complete = false;
  EXPECT_FALSE(untraced_rule(before, partial, {std::nullopt}));
  EXPECT_FALSE(untraced_rule(before, reading({{policy, 10}, {input, 4}}), {}));  // nothing to name
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
