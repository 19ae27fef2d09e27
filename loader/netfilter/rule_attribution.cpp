#include "netfilter/rule_attribution.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "decode/cause_decision.hpp"
#include "decode/net_format.hpp"
#include "sys/netns_files.hpp"

namespace vxt::nf {
namespace {

constexpr size_t kReadings = 4;  // a drop read in batch k moved a counter after reading k-3

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

}  // namespace

struct RuleAttribution::Netns {
  std::unique_ptr<NftDumper> dumper;
  std::map<RuleKey, uint64_t> baseline;
  std::deque<std::map<RuleKey, uint64_t>> readings;  // the last kReadings counters
  std::map<RuleKey, NftRule> latest;
  // Every drop rule that rose since the baseline, as last read: a rule deleted since keeps
  // what it dropped until then.
  std::map<RuleKey, RuleTotal> dropped;
  Clock::time_point read_at{};
  Clock::duration gap = RuleAttribution::kMinGap;  // between readings: 10x what one costs
};

std::optional<NftRule> pick_rule(const std::vector<NftRule>& candidates,
                                 const std::optional<FlowRecord>& flow, std::string_view ifname) {
  std::vector<const NftRule*> fit;
  for (const auto& c : candidates) {
    // At an ingress hook the dropping skb's device is the one `-i` compared. A name with
    // bytes escape_bytes() rewrote (it has a backslash then) is not compared.
    bool plain = !ifname.empty() && ifname.find('\\') == std::string_view::npos;
    if (c.iifname && plain && !c.iifname->matches(ifname)) continue;
    if (flow) {
      if (c.l4proto && *c.l4proto != flow->proto) continue;
      bool ports = flow->proto == IPPROTO_TCP || flow->proto == IPPROTO_UDP;
      if (c.dport && ports && *c.dport != flow->dport) continue;
      if (c.saddr && !c.saddr->matches(flow->src)) continue;
      if (c.daddr && !c.daddr->matches(flow->dst)) continue;
    }
    fit.push_back(&c);
  }
  if (fit.size() != 1) return std::nullopt;
  return *fit.front();
}

RuleAttribution::RuleAttribution() : own_netns_(own_netns_inode()) {
  if (own_netns_) netns(own_netns_);
}

RuleAttribution::~RuleAttribution() = default;

RuleAttribution::Netns* RuleAttribution::netns(uint32_t inode) {
  auto it = netns_.find(inode);
  if (it != netns_.end()) return it->second.get();
  auto ns = std::make_unique<Netns>();
  Result<std::unique_ptr<NftDumper>> d = Error{""};
  if (inode == own_netns_) {
    d = NftDumper::open();
  } else if (int fd = open_netns(inode); fd >= 0) {
    d = NftDumper::open_in(fd);
    ::close(fd);
  } else {
    d = Error{"no process or /run/netns entry holds it"};
  }
  if (d) {
    ns->dumper = std::move(*d);
  } else {
    spdlog::debug("netfilter rules of netns {}: {}", inode, d.error().what());
  }
  auto* raw = ns.get();
  netns_.emplace(inode, std::move(ns));
  read(*raw);
  raw->baseline = raw->readings.empty() ? std::map<RuleKey, uint64_t>{} : raw->readings.back();
  raw->dropped.clear();  // the first reading is the baseline, not drops
  return raw;
}

void RuleAttribution::read(Netns& ns) {
  ns.read_at = Clock::now();
  if (!ns.dumper) return;
  auto rules = ns.dumper->rules();
  // A reading costs ~10 us a rule (19 ms for 2,000): under a storm of netfilter drops,
  // reading at most every 10x that keeps it under a tenth of a core.
  ns.gap = std::max<Clock::duration>(kMinGap, 10 * (Clock::now() - ns.read_at));
  if (!rules) {
    spdlog::debug("netfilter rules: {}", rules.error().what());
    return;
  }
  std::map<RuleKey, uint64_t> counters;
  ns.latest.clear();
  for (auto& r : *rules) {
    if (!r.drops || !r.packets) continue;  // only drop rules with a counter can be named
    counters[r.key] = *r.packets;
    spdlog::trace("rule {}/{}#{}: {} packets, l4 {} dport {} saddr {:x}/{:x}{} daddr {} iifname {}",
                  r.key.table, r.key.chain, r.key.handle, *r.packets, r.l4proto.value_or(0),
                  r.dport.value_or(0), r.saddr ? r.saddr->addr : 0, r.saddr ? r.saddr->mask : 0,
                  r.saddr && r.saddr->negate ? " negated" : "", r.daddr.has_value(),
                  r.iifname ? escape_bytes(r.iifname->bytes) : "-");
    ns.latest.emplace(r.key, std::move(r));
  }
  for (const auto& [key, rule] : ns.latest) {
    auto was = ns.baseline.find(key);
    uint64_t base = was == ns.baseline.end() ? 0 : was->second;
    if (*rule.packets > base) ns.dropped[key] = {record_of(rule), *rule.packets - base};
  }
  ns.readings.push_back(std::move(counters));
  if (ns.readings.size() > kReadings) ns.readings.pop_front();
}

std::optional<RuleRecord> RuleAttribution::attribute(const Netns& ns, const DropRecord& r) {
  if (ns.readings.size() < 2) return std::nullopt;  // nothing to compare with yet
  const auto& before = ns.readings.front();
  std::vector<NftRule> moved;
  for (const auto& [key, rule] : ns.latest) {
    auto was = before.find(key);
    // A rule added since that reading started from zero.
    if (rule.packets > (was == before.end() ? 0 : was->second)) moved.push_back(rule);
  }
  auto pick = pick_rule(moved, r.flow, r.ifname);
  if (!pick) return std::nullopt;
  return record_of(*pick);
}

void RuleAttribution::add(DropRecord r, const Emit& emit) {
  bool netfilter = r.cause == Cause::netfilter;
  if (!netfilter && queue_.empty()) {
    emit(r);
    return;
  }
  if (netfilter) waiting_netns_.insert(r.netns);
  queue_.push_back(std::move(r));
  if (queue_.size() >= kMaxWaiting) flush(emit, true);  // memory stays bounded in a storm
}

void RuleAttribution::flush(const Emit& emit, bool force) {
  if (queue_.empty()) return;
  auto now = Clock::now();
  for (uint32_t inode : waiting_netns_) {
    bool fresh = !netns_.contains(inode);
    Netns* ns = netns(inode);  // a namespace seen first is read as it opens
    if (!fresh && (force || now - ns->read_at >= ns->gap)) read(*ns);
    if (!force && !fresh && ns->read_at < now) return;  // read too recently: wait for the next
  }
  for (auto& r : queue_) {
    if (r.cause == Cause::netfilter) {
      r.rule = attribute(*netns_.at(r.netns), r);
      r.cause = final_cause(r);
    }
    emit(r);
  }
  queue_.clear();
  waiting_netns_.clear();
}

std::vector<RuleTotal> RuleAttribution::totals() {
  std::vector<RuleTotal> totals;
  for (auto& [inode, ns] : netns_) {
    read(*ns);
    for (const auto& [key, total] : ns->dropped) totals.push_back(total);
  }
  std::stable_sort(totals.begin(), totals.end(),
                   [](const auto& a, const auto& b) { return a.drops > b.drops; });
  return totals;
}

}  // namespace vxt::nf
