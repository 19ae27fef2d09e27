// Drops by a netfilter rule other than conntrack's INVALID check (conntrack_findings.cpp has
// that one): a NetworkPolicy, Calico's own checks, or a hand-written firewall rule, named with
// the flows it dropped and the command that shows it.
#include <fmt/format.h>

#include <algorithm>

#include "decode/record_names.hpp"
#include "modes/doctor/findings.hpp"
#include "netfilter/calico_names.hpp"

namespace vxt::doctor {
namespace {

// "UDP 7777" for the flows that one rule dropped most; "" when no event named the rule.
std::string top_flow(const LiveEvidence& live, const RuleRecord& r) {
  auto it = live.flows_by_rule.find(rule_id(r));
  if (it == live.flows_by_rule.end() || it->second.empty()) return {};
  auto top = std::max_element(it->second.begin(), it->second.end(),
                              [](const auto& a, const auto& b) { return a.second < b.second; });
  return top->first;
}

Finding rule_finding(const RuleTotal& t, const LiveEvidence& live) {
  const auto& r = t.rule;
  auto meaning = nf::calico_meaning(r);
  bool policy = meaning.rfind("NetworkPolicy", 0) == 0;
  auto f = Finding::make(policy ? "networkpolicy_drops" : "netfilter_rule_drops", Severity::warning,
                         Evidence::live_drops, t.drops);
  auto flow = top_flow(live, r);
  std::string what = flow.empty() ? "" : " " + flow;
  if (policy) {
    // "NetworkPolicy: no policy allows traffic to the pod behind X" -> "...denies UDP 7777 to..."
    auto who = meaning.find(" to the pod") != std::string::npos
                   ? meaning.substr(meaning.find(" to the pod"))
                   : (meaning.find(" from the pod") != std::string::npos
                          ? meaning.substr(meaning.find(" from the pod"))
                          : std::string());
    f.title = fmt::format("NetworkPolicy denies{}{} ({} drops in {:.0f} s); no policy allows it",
                          what, who, t.drops, live.seconds);
    f.root_cause =
        "Calico's rule for the workload drops what no NetworkPolicy (or profile) allows: "
        "the traffic is denied by policy, not lost by the network.";
    f.persistent = {
        "kubectl get networkpolicy,globalnetworkpolicy -A  # add a policy that allows it, or fix "
        "the client"};
  } else {
    f.title = fmt::format("netfilter rule {} dropped {}{} packets in {:.0f} s", rule_label(r),
                          t.drops, what, live.seconds);
    f.root_cause =
        meaning.empty() ? "A firewall rule on this node drops the traffic." : meaning + ".";
    f.persistent = {"change the rule in whatever writes it (its comment names the owner: " +
                    r.comment.value_or("none") + ")"};
  }
  f.evidence = {{"family", r.family},
                {"table", r.table},
                {"chain", r.chain},
                {"handle", r.handle},
                {"drops", t.drops},
                {"flow", flow},
                {"comment", r.comment ? json(*r.comment) : json(nullptr)}};
  f.run_on = "this node";
  f.fix_now = {nf::show_rule_command(r) + "  # the rule, its counter and handle"};
  return f;
}

}  // namespace

std::vector<Finding> netfilter_findings(const LiveEvidence& live) {
  std::vector<Finding> out;
  if (!live.observed) return out;
  for (const auto& t : live.summary.netfilter_rules)
    if (!t.rule.ct_invalid && t.drops) out.push_back(rule_finding(t, live));
  return out;
}

}  // namespace vxt::doctor
