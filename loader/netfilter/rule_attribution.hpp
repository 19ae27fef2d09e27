// Names the rule behind each netfilter drop, and only when it is certain; otherwise the drop's
// rule stays null and is counted as unnamed. Two ways, both exact:
//  - traces: in vxtrace's own namespace, a drop's flow is added to vxtrace's trace table
//    (trace_table.hpp); the kernel then reports the verdict that drops each later packet of it
//    (trace_listener.hpp), and the drop event is joined to its packet's trace. Any nftables
//    rule, with or without a counter, and any base chain's policy.
//  - counters: between two readings of a namespace's rules, counter_window.hpp's test.
// Drops of other causes are handed on at once: netfilter reading never delays them.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "decode/drop_record.hpp"
#include "netfilter/nft_rule.hpp"
#include "netfilter/rule_reading.hpp"
#include "netfilter/rule_watch.hpp"
#include "netfilter/trace_listener.hpp"
#include "netfilter/trace_table.hpp"

namespace vxt::nf {

// Whether a rule can have dropped this packet at all (protocol, port, addresses, in-device):
// a last check on what the counters say.
bool can_match(const NftRule& rule, const DropRecord& r);

struct RuleTotals {
  std::vector<RuleTotal> rules;  // exact: the rules' own counters
  uint64_t named_by_trace = 0, named_by_counters = 0, unnamed = 0;  // netfilter drop events
};

class RuleAttribution {
 public:
  using Emit = std::function<void(const DropRecord&)>;
  struct Hooks {
    // Drop events the kernel side lost or did not stream (ring full, rate limit), so far.
    std::function<uint64_t()> events_missed;
    int64_t monotonic_to_record_ns = 0;  // CLOCK_MONOTONIC + this = a record's ts_unix_ns
  };
  using Clock = std::chrono::steady_clock;
  // Between two readings of a namespace's rules, at least (10x a reading's cost if more).
  static constexpr auto kMinGap = std::chrono::milliseconds(20);
  // A namespace whose reading costs more is not read for untraced drops (they stay unnamed).
  static constexpr auto kReadBudget = std::chrono::milliseconds(25);
  static constexpr size_t kMaxWaiting = 16384;  // records held at most (~4 MiB)

  // Reads this namespace's rules now: the baseline of its exact per-rule totals.
  explicit RuleAttribution(Hooks hooks);
  ~RuleAttribution();

  // Every record passes here, in order.
  void add(DropRecord r, const Emit& emit);
  // Decides what can be decided: `drained_until` (CLOCK_MONOTONIC ns) is when the ring was
  // last found empty, so every drop before it has been added. `force`: decide everything now.
  void flush(const Emit& emit, int64_t drained_until, bool force = false);
  bool waiting() const { return held_ > 0; }
  // Each drop rule's counter rise since vxtrace began watching its namespace (read now).
  RuleTotals totals();

 private:
  struct Netns;
  Netns& netns(uint32_t inode);
  void take_reading(Netns& ns);
  void apply_changes();
  void remember(const RuleReading& rd);
  void decide(Netns& ns, const Emit& emit, bool force);
  void emit_held(Netns& ns, const Emit& emit, size_t count, const std::optional<RuleKey>& rule);
  std::optional<RuleRecord> traced_rule(const DropRecord& r);
  void trace_flow(const DropRecord& r);
  static void finish(DropRecord& r, const Emit& emit);

  Hooks hooks_;
  uint32_t own_netns_;
  std::map<uint32_t, std::unique_ptr<Netns>> netns_;
  size_t held_ = 0;
  std::unique_ptr<TraceListener> listener_;
  std::unique_ptr<TraceTable> table_;  // made at the first netfilter drop here
  std::unique_ptr<RuleWatch> watch_;   // rule changes in this namespace: names and totals
  // This namespace's nftables rules by family, table and handle (unique in a table, unlike
  // chain names): the last reading with every change since applied.
  using RuleId = std::tuple<std::string, std::string, uint64_t>;
  std::map<RuleId, NftRule> details_;
  bool table_failed_ = false;
  std::deque<std::pair<int64_t, DropTrace>> traces_;  // unmatched, with when they were read
  uint64_t named_by_trace_ = 0, named_by_counters_ = 0, unnamed_ = 0;
};

}  // namespace vxt::nf
