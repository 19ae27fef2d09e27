#include "netfilter/rule_reading.hpp"

#include <sched.h>
#include <unistd.h>

#include <ctime>
#include <thread>

#include "netfilter/nft_dump.hpp"
#include "netfilter/xt_legacy_dump.hpp"
#include "sys/netns_files.hpp"

namespace vxt::nf {
namespace {

Result<RuleReading> read_here() {
  RuleReading out;
  out.counters.start_ns = monotonic_ns();
  auto dumper = NftDumper::open();
  if (!dumper) return dumper.error();
  auto ruleset = (*dumper)->ruleset();
  if (!ruleset) return ruleset.error();
  auto legacy = legacy_rules();
  if (!legacy) return legacy.error();
  // x_tables has no generation: its rules' shape stands for one (a rule replaced in place
  // shows as a counter going down).
  uint64_t legacy_shape = 0;
  for (const auto& r : *legacy) legacy_shape = legacy_shape * 1'000'003 ^ legacy_identity(r);
  out.counters.nft_generation = ruleset->generation;
  out.counters.legacy_shape = legacy_shape;
  for (auto* rules : {&ruleset->rules, &*legacy})
    for (auto& r : *rules) {
      if (r.counts_its_drops()) out.counters.counters[r.key] = *r.packets;
      out.rules.emplace(r.key, std::move(r));
    }
  out.counters.end_ns = monotonic_ns();
  out.counters.complete = true;
  return out;
}

}  // namespace

uint64_t legacy_identity(const NftRule& r) {
  auto addr = [](const std::optional<NftRule::AddrMatch>& m) {
    return m ? std::to_string(m->addr) + "/" + std::to_string(m->mask) + (m->negate ? "!" : "")
             : std::string("-");
  };
  std::string s = r.key.table + '\0' + r.key.chain + '\0' + r.comment.value_or("") + '\0' +
                  r.log_prefix.value_or("") + '\0' + addr(r.saddr) + addr(r.daddr) +
                  std::to_string(r.l4proto.value_or(0)) + ':' +
                  std::to_string(r.dport.value_or(0)) +
                  (r.iifname ? r.iifname->bytes + (r.iifname->negate ? "!" : "") : "-") +
                  (r.drops ? "D" : "") + (r.ct_invalid ? "I" : "") + (r.policy ? "P" : "");
  return std::hash<std::string>{}(s);
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Result<RuleReading> read_rules(uint32_t inode, bool own) {
  if (own) return read_here();
  int fd = open_netns(inode);
  if (fd < 0) return Error{"no process or /run/netns entry holds it any more", ENOENT};
  // Read on a thread that joined the namespace; its sockets die with the reading.
  Result<RuleReading> out = Error{"not read"};
  std::thread t([&] {
    if (setns(fd, CLONE_NEWNET) != 0) {
      out = errno_error("setns into the drop's network namespace", errno);
      return;
    }
    out = read_here();
  });
  t.join();
  ::close(fd);
  return out;
}

}  // namespace vxt::nf
