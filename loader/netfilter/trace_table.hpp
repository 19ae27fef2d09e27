// vxtrace's own nftables table in its network namespace: one set of IPv4 flows and two chains
// (prerouting, output) whose only rule sets `meta nftrace` on packets of those flows. The
// kernel then reports every nftables verdict such a packet meets over NFNLGRP_NFTRACE
// (trace_listener.hpp), iptables-nft's and counter-less rules and policies included. The rule
// never changes a verdict; the chains accept everything.
//
// The table is `inet vxtrace_<pid>`: owned by its netlink socket where the kernel supports it
// (5.12+; it then dies with vxtrace, even on SIGKILL), and otherwise removed on exit and by
// the next start (tables of vxtrace pids no longer alive).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "sys/result.hpp"

struct mnl_socket;

namespace vxt::nf {

// A flow as the set keys it: addresses in network order, and the IP protocol.
struct TracedFlow {
  uint32_t src = 0, dst = 0;
  uint8_t proto = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted <=>\'s own 0
  auto operator<=>(const TracedFlow&) const = default;
};

class TraceTable {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kFlowTimeout = std::chrono::seconds(10);  // a flow traced this long
  static constexpr auto kFlowRefresh = std::chrono::seconds(5);   // re-added at most this often
  static constexpr int kFlowsPerSecond = 200;                     // set additions, at most
  static constexpr uint32_t kMaxFlows = 4096;

  // Creates the table in the calling thread's network namespace.
  static Result<std::unique_ptr<TraceTable>> create();
  ~TraceTable();
  TraceTable(const TraceTable&) = delete;
  TraceTable& operator=(const TraceTable&) = delete;

  const std::string& name() const { return name_; }
  bool owned() const { return owned_; }
  // Traces the flow's next packets for kFlowTimeout. False when rate-bounded (counted).
  bool trace(const TracedFlow& f);
  uint64_t rate_limited() const { return rate_limited_; }
  // Ruleset transactions this table made (each moves nf_tables' generation by one): a
  // reading discounts them, so vxtrace's own work never looks like a ruleset change.
  uint64_t commits() const { return commits_; }

 private:
  TraceTable(mnl_socket* nl, std::string name, bool owned);
  mnl_socket* nl_;
  std::string name_;
  bool owned_;
  uint32_t seq_ = 0;
  std::map<TracedFlow, Clock::time_point> added_;
  Clock::time_point second_{};
  int added_this_second_ = 0;
  uint64_t rate_limited_ = 0;
  uint64_t commits_ = 1;  // its creation
};

inline constexpr std::string_view kTraceTablePrefix = "vxtrace_";
// A table of vxtrace's (this one's or another's): it never drops, its changes change no verdict.
inline bool is_trace_table(std::string_view table) { return table.starts_with(kTraceTablePrefix); }

// Tables named vxtrace_<pid> whose process is gone (a crash on a kernel without owned
// tables): removed. Returns how many.
int remove_stale_trace_tables();

}  // namespace vxt::nf
