#include <fmt/format.h>

#include <algorithm>

#include "modes/doctor/findings.hpp"
#include "netfilter/calico_names.hpp"

namespace vxt::doctor {
namespace {

const char* kKubeProxyConntrack =
    "kube-proxy sets nf_conntrack_max at start: KubeProxyConfiguration conntrack.maxPerCore / "
    "conntrack.min must agree, or it lowers the value again";

// Both table-pressure findings share one remedy: twice the room, now and after reboot.
void double_the_table(Finding& f, const ConntrackInput& c) {
  f.run_on = "this node";
  f.fix_now = {fmt::format("sysctl -w net.netfilter.nf_conntrack_max={}", c.max * 2)};
  f.persistent = {
      fmt::format("/etc/sysctl.d/90-conntrack.conf: net.netfilter.nf_conntrack_max = {}",
                  c.max * 2),
      kKubeProxyConntrack};
}

Finding table_fill(const ConntrackInput& c) {
  double r = fill_ratio(c);
  bool full = r >= kConntrackFullRatio;
  auto f = Finding::make("conntrack_table_full", full ? Severity::critical : Severity::warning,
                         Evidence::kernel_counters, c.count);
  f.title = fmt::format("conntrack table {} full ({} of {} entries)", percent(r), c.count, c.max);
  f.evidence = {{"count", c.count}, {"max", c.max}, {"fill_ratio", r}};
  f.root_cause =
      "When nf_conntrack_count reaches nf_conntrack_max the kernel drops packets of "
      "new flows, which looks like random connection timeouts.";
  double_the_table(f, c);
  return f;
}

Finding full_drops(uint64_t drop, uint64_t early, const ConntrackInput& c, double secs) {
  auto f = Finding::make("conntrack_full_drops", Severity::critical, Evidence::kernel_counters,
                         drop + early);
  f.title = fmt::format("conntrack dropped {} new flows in {:.0f} s for lack of table space",
                        drop + early, secs);
  f.evidence = {{"drop", drop}, {"early_drop", early}, {"count", c.count}, {"max", c.max}};
  f.root_cause =
      "The conntrack table is full, so the kernel evicts (early_drop) or refuses "
      "(drop) entries for new flows and their packets die.";
  double_the_table(f, c);
  return f;
}

Finding insert_race(uint64_t failed, double secs) {
  auto f = Finding::make("conntrack_insert_failed", Severity::warning, Evidence::kernel_counters,
                         failed);
  f.title =
      fmt::format("{} conntrack insertions failed in {:.0f} s (confirmation race)", failed, secs);
  f.evidence = {{"insert_failed", failed}};
  f.root_cause =
      "Parallel packets of one new flow (classically A and AAAA DNS queries from one "
      "socket) race to confirm their conntrack entry and the loser is dropped, giving "
      "5 s DNS timeouts.";
  f.run_on = "the cluster";
  f.fix_now = {"add dnsConfig: {options: [{name: single-request-reopen}]} to affected pods"};
  f.persistent = {"deploy NodeLocal DNSCache (DNS over TCP to the upstream avoids the race)",
                  "kernel >= 5.0 resolves most clashes instead of dropping"};
  return f;
}

Finding invalid_dropped(uint64_t drops, uint64_t invalid, const LiveEvidence& live) {
  auto f =
      Finding::make("conntrack_invalid_drops", Severity::critical, Evidence::live_drops, drops);
  f.title = fmt::format("a netfilter rule dropped {} packets conntrack marked INVALID in {:.0f} s",
                        drops, live.seconds);
  f.evidence = {{"drops", drops}, {"conntrack_invalid", invalid}, {"ct_state", "none"}};
  f.root_cause =
      "Packets conntrack cannot fit into a flow (out-of-window TCP, odd flag "
      "combinations, ICMP errors for unknown flows) are dropped by a `--ctstate "
      "INVALID -j DROP` rule such as kube-proxy's and Calico's.";
  f.run_on = "this node";
  std::string show = "nft list ruleset | grep -n 'ct state invalid'";
  for (const auto& t : live.summary.netfilter_rules)
    if (t.rule.ct_invalid) show = nf::show_rule_command(t.rule);  // the rule vxtrace named
  f.fix_now = {"sysctl -w net.netfilter.nf_conntrack_tcp_be_liberal=1",
               show + "  # the rule that drops them"};
  f.persistent = {"/etc/sysctl.d/90-conntrack.conf: net.netfilter.nf_conntrack_tcp_be_liberal = 1",
                  "kube-proxy --conntrack-tcp-be-liberal (KubeProxyConfiguration "
                  "conntrack.tcpBeLiberal: true, Kubernetes >= 1.29)"};
  return f;
}

}  // namespace

std::vector<Finding> conntrack_findings(const ConntrackInput& now, const LiveEvidence& live) {
  std::vector<Finding> out;
  if (now.loaded && fill_ratio(now) >= kConntrackHighRatio) out.push_back(table_fill(now));
  if (!live.observed) return out;
  const auto &a = live.conntrack_before, &b = live.conntrack_after;
  uint64_t drop = stat_delta(a, b, "drop"), early = stat_delta(a, b, "early_drop");
  if (drop + early) out.push_back(full_drops(drop, early, now, live.seconds));
  if (uint64_t failed = stat_delta(a, b, "insert_failed"))
    out.push_back(insert_race(failed, live.seconds));
  // The INVALID rules' own counters are exact; events name a rule only when certain.
  uint64_t by_rule = 0;
  for (const auto& t : live.summary.netfilter_rules)
    if (t.rule.ct_invalid && t.netns == live.own_netns) by_rule += t.drops;
  if (uint64_t drops = std::max(live.conntrack_drops, by_rule))
    out.push_back(invalid_dropped(drops, stat_delta(a, b, "invalid"), live));
  return out;
}

}  // namespace vxt::doctor
