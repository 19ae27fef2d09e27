// The exact test that lets counters name a drop nobody traced. Between two readings of a
// namespace's rules, if every drop there made an event vxtrace saw (none lost, none rate-limited,
// none landing while a reading ran), and the rules whose counters rose, less the drops traces
// already named, leave exactly one rule that rose by exactly the number of untraced drops, then
// each untraced drop is that rule's. Anything else names nothing: a counter-less rule, a rule
// replaced in between, two rules at once. Only counters that count nothing but their own drops
// (NftRule::counts_drops_only) take part.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "netfilter/nft_rule.hpp"

namespace vxt::nf {

// The nftables rules created and deleted since the previous reading, as nf_tables announced
// them (vxtrace's own namespace): a ruleset that changed between two readings still has exact
// counter rises when every change is known.
struct RuleChanges {
  bool known = false;                   // every change was announced and read (none lost)
  std::map<RuleKey, uint64_t> created;  // with its counter when created
  std::map<RuleKey, uint64_t> deleted;  // with its counter's final value
};

struct CounterReading {
  int64_t start_ns = 0, end_ns = 0;  // in the drop records' clock
  // Counters of the rules that count only their drops; and whether the reading saw every
  // rule of the namespace (a dump that failed leaves it false).
  std::map<RuleKey, uint64_t> counters;
  bool complete = false;
  uint32_t nft_generation = 0;  // less vxtrace's own commits
  uint64_t legacy_shape = 0;    // x_tables has no generation
  uint64_t events_missed = 0;   // events the kernel side lost or rate-limited, so far
  RuleChanges changes;          // since the previous reading
};

// The window's drop events: each a traced rule, or nullopt when untraced.
using WindowEvents = std::vector<std::optional<RuleKey>>;

// The one rule every untraced event of the window was dropped by, when the counters prove it.
std::optional<RuleKey> untraced_rule(const CounterReading& before, const CounterReading& after,
                                     const WindowEvents& events);

}  // namespace vxt::nf
