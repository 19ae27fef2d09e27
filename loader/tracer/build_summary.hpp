// The summary every mode shows (trace and doctor at their intervals and exit, the agent at each
// scrape): the kernel's exact counters, with what only userspace knows applied to them: the drop
// rules' totals, and the drops whose final cause (decode/cause_decision.hpp) is not the one the
// kernel counted them under.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <vector>

#include "decode/drop_record.hpp"
#include "decode/rule_record.hpp"
#include "decode/summary.hpp"
#include "kernel/drop_reasons.hpp"
#include "kernel/map_readers.hpp"
#include "netfilter/rule_attribution.hpp"

namespace vxt {

// Drops of one peer that the kernel counted under `from` and whose final cause is `to`.
struct CauseMove {
  uint32_t peer = 0;  // network order
  Cause from = Cause::other, to = Cause::other;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted <=>'s own 0
  auto operator<=>(const CauseMove&) const = default;
};

// What the poll() thread counted of the events it handed on.
struct EventTotals {
  // Only the kernel's per-peer counts need it (its totals move by the rules' exact counters):
  // exact unless events were lost or not streamed.
  std::map<CauseMove, uint64_t> moved;
  uint64_t malformed_records = 0;  // ring records that failed validation (never decoded)
  uint64_t filtered = 0;           // streamed by BPF, then not selected by their final cause
};

// `rules`: each drop rule's exact total and how the netfilter drops were named
// (RuleAttribution::totals()).
Summary build_summary(const RawCounters& c, const DropReasons& reasons, nf::RuleTotals rules,
                      const EventTotals& events);

}  // namespace vxt
