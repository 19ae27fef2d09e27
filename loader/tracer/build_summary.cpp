#include "tracer/build_summary.hpp"

#include <algorithm>
#include <utility>

namespace vxt {
namespace {

void move_drops(std::map<Cause, uint64_t>& by_cause, Cause from, Cause to, uint64_t n) {
  auto f = by_cause.find(from);
  if (n == 0 || f == by_cause.end()) return;
  n = std::min(n, f->second);  // never more than the kernel counted: events can repeat a read
  f->second -= n;
  by_cause[to] += n;
  if (f->second == 0) by_cause.erase(f);
}

}  // namespace

Summary build_summary(const RawCounters& c, const DropReasons& reasons, nf::RuleTotals rules,
                      const EventTotals& events) {
  Summary s = summarize(c, reasons);
  s.malformed_records = events.malformed_records;
  s.events_filtered = events.filtered;
  // In total, by the rules' own counters: exact even where events were lost. A rule matching
  // ct state INVALID drops what final_cause() calls conntrack's.
  uint64_t conntrack = 0;
  for (const auto& t : rules.rules)
    if (t.rule.ct_invalid) conntrack += t.drops;
  move_drops(s.drops_by_cause, Cause::netfilter, Cause::conntrack, conntrack);
  // Per peer, by the events: the rules' counters do not say whose packets they dropped.
  std::map<uint32_t, PeerSummary*> peers;
  for (auto& p : s.peers) peers[p.peer] = &p;
  for (const auto& [move, n] : events.moved) {
    auto it = peers.find(move.peer);
    if (it == peers.end()) continue;  // the kernel did not count it per peer (map full)
    move_drops(it->second->by_cause, move.from, move.to, n);
    set_ratios(*it->second);
  }
  s.netfilter_rules = std::move(rules.rules);
  s.netfilter_named_by_trace = rules.named_by_trace;
  s.netfilter_named_by_counters = rules.named_by_counters;
  s.netfilter_unnamed = rules.unnamed;
  return s;
}

}  // namespace vxt
