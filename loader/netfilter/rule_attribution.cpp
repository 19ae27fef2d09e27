#include "netfilter/rule_attribution.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "decode/cause_decision.hpp"
#include "decode/net_format.hpp"
#include "sys/netns_files.hpp"

namespace vxt::nf {
namespace {

// A rule's counter moves a few microseconds before the kernel frees the packet and stamps the
// event, in one softirq: an event this long after a reading ended may still be in it.
constexpr int64_t kSettleNs = 500'000;
constexpr int64_t kTraceTtlNs = 2'000'000'000;  // a trace whose event never came
// An untraced drop waits at most this long for a reading no drop landed in.
constexpr int64_t kMaxHoldNs = 150'000'000;
constexpr auto kIdleNetns = std::chrono::seconds(60);

// Table, chain and comment are whatever bytes the ruleset's author chose.
RuleRecord record_of(const NftRule& r) {
  std::optional<std::string> comment;
  if (r.comment) comment = escape_bytes(*r.comment);
  return {r.key.family,
          escape_bytes(r.key.table),
          escape_bytes(r.key.chain),
          r.key.handle,
          comment,
          r.ct_invalid,
          r.policy,
          r.key.backend};
}

// nftables handles are unique in their table and survive a chain's rename; a legacy rule's
// position does not survive an insert above it, what it matches does; a policy is its chain's.
RuleKey total_key(const NftRule& r) {
  RuleKey k = r.key;
  if (k.handle == 0) return k;
  if (k.backend == RuleBackend::nftables) k.chain.clear();
  if (k.backend == RuleBackend::iptables_legacy) k.handle = legacy_identity(r);
  return k;
}

// Two runs of changes, one after the other, as one: what a rule had counted when first deleted
// (the earlier), what it counted from when last created (the later).
RuleChanges merge(RuleChanges earlier, RuleChanges later) {
  earlier.deleted.merge(later.deleted);  // keeps the earlier value of a key in both
  for (const auto& [key, n] : later.created) earlier.created[key] = n;
  return earlier;
}

PacketKey packet_key(const FlowRecord& f) {
  PacketKey k{f.src, f.dst, f.proto, f.ip_id, 0, 0};
  if (f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP) {
    k.sport = f.sport;
    k.dport = f.dport;
  } else if (f.proto == IPPROTO_ICMP) {
    k.sport = f.sport;
  }
  return k;
}

}  // namespace

bool can_match(const NftRule& rule, const DropRecord& r) {
  // At an ingress hook the dropping skb's device is the one `-i` compared. A name with bytes
  // escape_bytes() rewrote (it has a backslash then) is not compared.
  bool plain = !r.ifname.empty() && r.ifname.find('\\') == std::string::npos;
  if (rule.iifname && plain && !rule.iifname->matches(r.ifname)) return false;
  if (!r.flow) return true;
  const auto& f = *r.flow;
  if (rule.l4proto && *rule.l4proto != f.proto) return false;
  bool ports = f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP;
  if (rule.dport && ports && *rule.dport != f.dport) return false;
  if (rule.saddr && !rule.saddr->matches(f.src)) return false;
  return !rule.daddr || rule.daddr->matches(f.dst);
}

struct RuleAttribution::Netns {
  struct Held {
    int64_t ts = 0;                 // CLOCK_MONOTONIC
    std::optional<RuleKey> traced;  // named by its trace (already handed on)
    std::optional<DropRecord> record;
  };
  struct Tally {
    uint64_t baseline = 0, last = 0, retired = 0;
    NftRule rule;
  };
  uint32_t inode = 0;
  bool own = false;
  std::optional<RuleReading> last, next;  // the window's readings
  bool last_ambiguous = false;            // an event landed while `last` was read
  bool overflowed = false;                // events were let go unmatched since `last`
  std::deque<Held> events;                // since `last` began
  size_t untraced = 0;                    // of those, records still held
  Clock::time_point read_at{};
  Clock::duration cost{}, gap = kMinGap;
  std::map<RuleKey, Tally> tallies;  // by total_key()
  bool baseline_taken = false;
  bool watched = false;  // deletions arrive from RuleWatch
  RuleChanges changes;   // announced since the last reading (own namespace)

  void observe(const RuleReading& rd) {
    for (const auto& [key, n] : rd.counters.counters) {
      const NftRule& rule = rd.rules.at(key);
      auto [it, fresh] = tallies.try_emplace(total_key(rule));
      auto& t = it->second;
      // Present at the first reading: counted from there; appeared later: from zero.
      if (fresh) t.baseline = t.last = baseline_taken ? 0 : n;
      // A counter gone down was replaced in place; where deletions are watched, the deletion
      // says exactly what it had dropped (retire()).
      if (n < t.last && !watched) {
        t.retired += t.last - t.baseline;
        t.baseline = 0;
      }
      t.last = n;
      t.rule = rule;
    }
    baseline_taken = true;
  }

  // A rule deleted (or replaced in place), with its counter's final value.
  void retire(const NftRule& r) {
    if (!r.counts_its_drops()) return;
    auto [it, fresh] = tallies.try_emplace(total_key(r));
    auto& t = it->second;
    if (fresh) t.rule = r;  // added and deleted between two readings
    t.retired += *r.packets >= t.baseline ? *r.packets - t.baseline : 0;
    t.baseline = t.last = 0;  // what comes under its handle now is another rule
  }

  static uint64_t total(const Tally& t) {
    return t.retired + (t.last >= t.baseline ? t.last - t.baseline : 0);
  }
};

RuleAttribution::RuleAttribution(Hooks hooks)
    : hooks_(std::move(hooks)), own_netns_(own_netns_inode()) {
  if (!own_netns_) return;
  auto l = TraceListener::open();
  if (l) {
    listener_ = std::move(*l);
    if (int n = remove_stale_trace_tables())
      spdlog::info("removed {} stale vxtrace nftables tables", n);
  }
  if (auto w = RuleWatch::open()) {
    watch_ = std::move(*w);  // before the baseline: no deletion falls between the two
  } else {
    spdlog::info(
        "nftables ruleset notifications unavailable ({}): a rule replaced in place "
        "is seen only by its counter going down",
        w.error().what());
  }
  netns(own_netns_).watched = watch_ != nullptr;  // the baseline, after vxtrace's own changes
  if (!l) {
    spdlog::info("nftables traces unavailable ({}): rules named by counters only",
                 l.error().what());
  }
}

RuleAttribution::~RuleAttribution() = default;

RuleAttribution::Netns& RuleAttribution::netns(uint32_t inode) {
  auto it = netns_.find(inode);
  if (it != netns_.end()) return *it->second;
  // A namespace no longer seen is forgotten (it holds no fd: only numbers).
  std::erase_if(netns_, [&](const auto& kv) {
    const auto& ns = *kv.second;
    return !ns.own && ns.untraced == 0 && !ns.next && Clock::now() - ns.read_at > kIdleNetns;
  });
  auto ns = std::make_unique<Netns>();
  ns->inode = inode;
  ns->own = inode == own_netns_;
  auto& ref = *ns;
  netns_.emplace(inode, std::move(ns));
  take_reading(ref);
  if (ref.next) {
    ref.last = std::move(ref.next);
    ref.next.reset();
  }
  return ref;
}

void RuleAttribution::apply_changes() {
  if (!watch_) return;
  bool lost = false;
  auto& own = *netns_.at(own_netns_);
  for (auto& c : watch_->changes(lost)) {
    const RuleKey& k = c.rule.key;
    if (is_trace_table(k.table)) continue;  // ours, or another vxtrace's: they never drop
    bool counts = c.rule.counts_its_drops();
    RuleId id{k.family, k.table, k.handle};
    if (c.kind == RuleWatch::Change::policy) {
      // The policy may have changed: what it had counted until then, and counting anew.
      if (c.rule.packets) own.changes.deleted[k] = *c.rule.packets;
      if (counts) own.changes.created[k] = *c.rule.packets;
    } else if (c.kind == RuleWatch::Change::deleted) {
      own.retire(c.rule);
      if (counts) own.changes.deleted[k] = *c.rule.packets;
      details_.erase(id);
    } else {
      if (counts) own.changes.created[k] = *c.rule.packets;
      details_[id] = std::move(c.rule);
    }
  }
  if (lost) {
    spdlog::warn(
        "nftables ruleset notifications lost: totals of rules replaced meanwhile may be low");
    own.watched = false;
    watch_.reset();  // rules are known from readings only from here on
    details_.clear();
  }
}

void RuleAttribution::remember(const RuleReading& rd) {
  if (!watch_) return;
  details_.clear();
  for (const auto& [key, rule] : rd.rules)
    if (key.backend == RuleBackend::nftables && key.handle != 0)
      details_[{key.family, key.table, key.handle}] = rule;
}

void RuleAttribution::take_reading(Netns& ns) {
  if (ns.own) apply_changes();  // first: a change before the reading is in it already
  auto began = Clock::now();
  auto rd = read_rules(ns.inode, ns.own);
  ns.read_at = Clock::now();
  ns.cost = ns.read_at - began;
  // Under a storm of netfilter drops, reading at most every 10x its cost keeps it under a
  // tenth of a core.
  ns.gap = std::max<Clock::duration>(kMinGap, 10 * ns.cost);
  if (!rd) {
    spdlog::debug("netfilter rules of netns {}: {}", ns.inode, rd.error().what());
    ns.next = RuleReading{};  // incomplete: decides nothing
    ns.next->counters.start_ns = ns.next->counters.end_ns = monotonic_ns();
  } else {
    rd->counters.events_missed = hooks_.events_missed ? hooks_.events_missed() : 0;
    if (ns.own && table_) rd->counters.nft_generation -= table_->commits();
    if (ns.own) {  // what changed since the previous reading
      rd->counters.changes = std::exchange(ns.changes, RuleChanges{});
      rd->counters.changes.known = watch_ != nullptr;
    }
    ns.observe(*rd);
    if (ns.own) remember(*rd);
    ns.next = std::move(*rd);
  }
}

std::optional<RuleRecord> RuleAttribution::traced_rule(const DropRecord& r) {
  if (!listener_ || !r.flow) return std::nullopt;
  bool lost = false;
  int64_t now = monotonic_ns();
  for (auto& t : listener_->read(lost)) traces_.emplace_back(now, std::move(t));
  // A lost trace could leave an older one of the same packet key to be taken for it.
  if (lost) {
    spdlog::debug("nftables trace messages lost (socket buffer full)");
    traces_.clear();
  }
  while (!traces_.empty() && now - traces_.front().first > kTraceTtlNs) traces_.pop_front();
  auto key = packet_key(*r.flow);
  auto match = traces_.end();
  for (auto it = traces_.begin(); it != traces_.end(); ++it) {
    if (it->second.packet != key) continue;
    const auto& t = it->second;
    if (match == traces_.end()) {
      match = it;
    } else if (std::tie(t.family, t.table, t.chain, t.handle) !=
               std::tie(match->second.family, match->second.table, match->second.chain,
                        match->second.handle)) {
      traces_.erase(match);  // two verdicts for one packet key: neither is certain
      return std::nullopt;
    }
  }
  if (match == traces_.end()) return std::nullopt;
  DropTrace t = std::move(match->second);
  traces_.erase(match);
  if (is_trace_table(t.table)) return std::nullopt;
  RuleKey k{t.family, t.table, t.chain, t.handle, RuleBackend::nftables};
  if (t.handle == 0) {  // a base chain's policy
    NftRule p;
    p.key = k;
    p.policy = p.drops = true;
    return record_of(p);
  }
  // The trace names the rule; what it matches (its comment, ct state) comes from the
  // notifications since the last reading, so a rule replaced in place is never the old one.
  apply_changes();
  if (!watch_) return std::nullopt;
  auto it = details_.find({t.family, t.table, t.handle});
  if (it == details_.end()) return std::nullopt;
  NftRule rule = it->second;
  rule.key.chain = t.chain;  // renamed since: the trace is current
  return record_of(rule);
}

void RuleAttribution::trace_flow(const DropRecord& r) {
  if (!listener_ || !r.flow || table_failed_) return;
  if (!table_) {
    auto t = TraceTable::create();
    if (!t) {
      table_failed_ = true;
      spdlog::info("nftables tracing unavailable ({}): rules named by counters only",
                   t.error().what());
      return;
    }
    table_ = std::move(*t);
    spdlog::debug("tracing netfilter drops' flows through nftables table inet {} ({})",
                  table_->name(), table_->owned() ? "owned" : "removed on exit");
  }
  table_->trace({r.flow->src, r.flow->dst, r.flow->proto});
}

void RuleAttribution::finish(DropRecord& r, const Emit& emit) {
  r.cause = final_cause(r);
  emit(r);
}

void RuleAttribution::add(DropRecord r, const Emit& emit) {
  if (r.cause != Cause::netfilter) {
    emit(r);
    return;
  }
  Netns& ns = netns(r.netns);
  int64_t ts = r.ts_unix_ns - hooks_.monotonic_to_record_ns;
  if (ns.own) r.rule = traced_rule(r);
  // A drop from before the namespace's last reading is in none of its windows.
  if (ns.last && ts <= ns.last->counters.end_ns + kSettleNs) {
    if (ts >= ns.last->counters.start_ns) ns.last_ambiguous = true;
    ++(r.rule ? named_by_trace_ : unnamed_);
    finish(r, emit);
    return;
  }
  if (r.rule) {
    ++named_by_trace_;
    ns.events.push_back(
        {ts, RuleKey{r.rule->family, r.rule->table, r.rule->chain, r.rule->handle, r.rule->backend},
         std::nullopt});
    finish(r, emit);
  } else {
    if (ns.own) trace_flow(r);
    ns.events.push_back({ts, std::nullopt, std::move(r)});
    ++ns.untraced;
    ++held_;
  }
  if (ns.events.size() >= kMaxWaiting) {  // memory stays bounded in a storm
    ns.overflowed = true;
    emit_held(ns, emit, ns.events.size(), std::nullopt);
  }
}

void RuleAttribution::emit_held(Netns& ns, const Emit& emit, size_t count,
                                const std::optional<RuleKey>& rule) {
  const NftRule* named = nullptr;
  if (rule && ns.next) named = &ns.next->rules.at(*rule);
  for (size_t i = 0; i < count && !ns.events.empty(); ++i) {
    auto held = std::move(ns.events.front());
    ns.events.pop_front();
    if (!held.record) continue;
    --ns.untraced;
    --held_;
    auto& r = *held.record;
    if (named && can_match(*named, r)) {
      r.rule = record_of(*named);
      ++named_by_counters_;
    } else {
      ++unnamed_;
    }
    finish(r, emit);
  }
}

void RuleAttribution::decide(Netns& ns, const Emit& emit, bool force) {
  const auto& b = ns.next->counters;
  size_t window = 0;
  bool ambiguous = false;  // an event landed while `next` was read
  int64_t oldest = b.start_ns;
  WindowEvents keys;
  for (const auto& e : ns.events) {
    if (e.ts < b.start_ns) {
      ++window;
      keys.push_back(e.traced);
      if (e.record) oldest = std::min(oldest, e.ts);
    } else if (e.ts <= b.end_ns + kSettleNs) {
      ambiguous = true;
    }
  }
  // A burst of drops lands in a reading: it cannot end a window, the next reading may. The
  // rule changes this reading took belong to that next window, before the ones since.
  if (ambiguous && !force && b.end_ns - oldest < kMaxHoldNs) {
    ns.changes = merge(std::move(ns.next->counters.changes), std::move(ns.changes));
    ns.next.reset();
    return;
  }
  std::optional<RuleKey> rule;
  if (ns.last && !ns.last_ambiguous && !ambiguous && !ns.overflowed)
    rule = untraced_rule(ns.last->counters, b, keys);
  emit_held(ns, emit, window, rule);
  ns.last = std::move(ns.next);
  ns.next.reset();
  ns.last_ambiguous = ambiguous;
  ns.overflowed = false;
}

void RuleAttribution::flush(const Emit& emit, int64_t drained_until, bool force) {
  auto now = Clock::now();
  for (auto& [inode, ptr] : netns_) {
    Netns& ns = *ptr;
    if (ns.next && (force || drained_until > ns.next->counters.end_ns + kSettleNs))
      decide(ns, emit, force);
    if (ns.untraced == 0 || ns.next) continue;
    if (!ns.last || ns.cost > kReadBudget) {
      // No reading before these drops, or reading costs too much: they stay unnamed.
      emit_held(ns, emit, ns.events.size(), std::nullopt);
      ns.overflowed = true;  // the next window lacks them
      continue;
    }
    if (force || now - ns.read_at >= ns.gap) {
      take_reading(ns);
      if (force) decide(ns, emit, true);
    }
  }
}

RuleTotals RuleAttribution::totals() {
  std::vector<RuleTotal> totals;
  for (auto& [inode, ns] : netns_) {
    if (ns->own) apply_changes();
    if (!ns->next) {
      // A reading for the totals only: it must not end a window early.
      if (auto rd = read_rules(inode, ns->own)) {
        ns->observe(*rd);
        if (ns->own) remember(*rd);
      }
    }
    for (const auto& [key, t] : ns->tallies)
      if (uint64_t n = ns->total(t)) totals.push_back({record_of(t.rule), n, inode});
  }
  std::stable_sort(totals.begin(), totals.end(),
                   [](const auto& a, const auto& b) { return a.drops > b.drops; });
  return {std::move(totals), named_by_trace_, named_by_counters_, unnamed_};
}

}  // namespace vxt::nf
