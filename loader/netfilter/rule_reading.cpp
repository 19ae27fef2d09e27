#include "netfilter/rule_reading.hpp"

#include <sched.h>
#include <unistd.h>

#include <ctime>
#include <thread>

#include "netfilter/nft_dump.hpp"
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
  out.counters.ruleset_version = ruleset->generation;
  for (auto& r : ruleset->rules) {
    if (!r.drops) continue;
    if (r.counts_drops_only && r.packets) out.counters.counters[r.key] = *r.packets;
    out.rules.emplace(r.key, std::move(r));
  }
  out.counters.end_ns = monotonic_ns();
  out.counters.complete = true;
  return out;
}

}  // namespace

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
