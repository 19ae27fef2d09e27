#include "netfilter/counter_window.hpp"

#include <algorithm>

namespace vxt::nf {

std::optional<RuleKey> untraced_rule(const CounterReading& before, const CounterReading& after,
                                     const WindowEvents& events) {
  if (!before.complete || !after.complete || before.ruleset_version != after.ruleset_version ||
      before.events_missed != after.events_missed)
    return std::nullopt;
  for (const auto& [key, n] : before.counters)
    if (!after.counters.contains(key)) return std::nullopt;  // deleted: its last drops unseen
  std::map<RuleKey, int64_t> residual;
  for (const auto& [key, n] : after.counters) {
    auto was = before.counters.find(key);
    if (was == before.counters.end() || n < was->second) return std::nullopt;  // replaced
    if (n > was->second) residual[key] = static_cast<int64_t>(n - was->second);
  }
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
