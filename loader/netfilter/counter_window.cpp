#include "netfilter/counter_window.hpp"

#include <algorithm>

namespace vxt::nf {

namespace {

// Each counting rule's rise between the readings, or nullopt when a rise cannot be known: a
// rule appeared or vanished unannounced, or was replaced after it had dropped in the window.
std::optional<std::map<RuleKey, int64_t>> rises(const CounterReading& before,
                                                const CounterReading& after) {
  const RuleChanges& c = after.changes;
  bool changed = before.nft_generation != after.nft_generation;
  if (changed && !c.known) return std::nullopt;
  std::map<RuleKey, int64_t> out;
  for (const auto& [key, n] : before.counters) {
    auto gone = c.deleted.find(key);
    if (gone == c.deleted.end()) {
      if (!after.counters.contains(key)) return std::nullopt;  // vanished unannounced
    } else if (gone->second != n) {
      return std::nullopt;  // it dropped, then was deleted or replaced: which rule was it?
    }
  }
  for (const auto& [key, n] : after.counters) {
    auto was = before.counters.find(key);
    auto made = c.created.find(key);
    uint64_t base = 0;
    if (made != c.created.end()) {
      base = made->second;  // created (or re-created) in the window
    } else if (was != before.counters.end()) {
      base = was->second;
    } else {
      return std::nullopt;  // appeared unannounced
    }
    if (n < base) return std::nullopt;
    if (n > base) out[key] = static_cast<int64_t>(n - base);
  }
  return out;
}

}  // namespace

std::optional<RuleKey> untraced_rule(const CounterReading& before, const CounterReading& after,
                                     const WindowEvents& events) {
  if (!before.complete || !after.complete || before.legacy_shape != after.legacy_shape ||
      before.events_missed != after.events_missed)
    return std::nullopt;
  auto rose = rises(before, after);
  if (!rose) return std::nullopt;
  auto& residual = *rose;
  int64_t untraced = 0;
  for (const auto& e : events) {
    if (!e) {
      ++untraced;
    } else if (after.counters.contains(*e) && --residual[*e] < 0) {
      return std::nullopt;  // a traced drop its counter does not show: not what we think
    }
  }
  std::erase_if(residual, [](const auto& kv) { return kv.second == 0; });
  if (untraced == 0 || residual.size() != 1 || residual.begin()->second != untraced)
    return std::nullopt;
  return residual.begin()->first;
}

}  // namespace vxt::nf
