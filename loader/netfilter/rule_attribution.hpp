// Names the rule behind each netfilter drop without kprobes: every iptables-nft rule carries a
// counter, and the kernel bumps it before it drops. A drop event waits until its namespace's
// counters were read after it; the drop rules whose counters rose over the last few readings
// are its candidates, and it names a rule only when exactly one candidate can match its flow.
// Never a guess: otherwise `rule` stays null.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "decode/drop_record.hpp"
#include "netfilter/nft_dump.hpp"
#include "netfilter/nft_rule.hpp"

namespace vxt::nf {

// The rule decision, apart from the sockets: candidates (drop rules that moved) and the flow.
std::optional<NftRule> pick_rule(const std::vector<NftRule>& candidates,
                                 const std::optional<FlowRecord>& flow, std::string_view ifname);

class RuleAttribution {
 public:
  using Emit = std::function<void(const DropRecord&)>;
  using Clock = std::chrono::steady_clock;
  // Between two readings of a namespace's rules, at least (more for large rulesets).
  static constexpr auto kMinGap = std::chrono::milliseconds(20);
  static constexpr size_t kMaxWaiting = 16384;  // records held at most (~4 MiB)

  // Reads this namespace's rules now: the baseline of its exact per-rule totals.
  RuleAttribution();
  ~RuleAttribution();

  // Every record passes here, in order: a netfilter drop (and whatever follows it) waits for
  // its namespace's next reading.
  void add(DropRecord r, const Emit& emit);
  // Reads what the waiting records need (each namespace at most every gap unless `force`)
  // and hands them on, with their final cause (decode/cause_decision.hpp).
  void flush(const Emit& emit, bool force = false);
  bool waiting() const { return !queue_.empty(); }
  // Each drop rule's counter rise since vxtrace began watching its namespace (read now).
  std::vector<RuleTotal> totals();

 private:
  struct Netns;
  Netns* netns(uint32_t inode);
  static void read(Netns& ns);
  static std::optional<RuleRecord> attribute(const Netns& ns, const DropRecord& r);

  std::map<uint32_t, std::unique_ptr<Netns>> netns_;
  std::deque<DropRecord> queue_;
  std::set<uint32_t> waiting_netns_;
  uint32_t own_netns_;
};

}  // namespace vxt::nf
