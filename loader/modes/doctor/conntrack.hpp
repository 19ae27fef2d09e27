// Conntrack table fill and the per-CPU drop counters of /proc/net/stat/nf_conntrack.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "modes/doctor/finding.hpp"

namespace vxt::doctor {

struct ConntrackInput {
  bool loaded = false;  // nf_conntrack present in this namespace
  uint64_t count = 0, max = 0;
  std::map<std::string, uint64_t> stats;  // summed over CPUs: drop, early_drop, insert_failed...
};

// The stat file: a header of names, then one row of hex values per CPU.
std::map<std::string, uint64_t> parse_conntrack_stat(const std::string& text);
double fill_ratio(const ConntrackInput& c);
// Counter growth between two readings (0 when a counter went backwards or is absent).
uint64_t stat_delta(const ConntrackInput& before, const ConntrackInput& after,
                    const std::string& name);

inline constexpr double kConntrackFullRatio = 0.9;
inline constexpr double kConntrackHighRatio = 0.75;

ConntrackInput read_conntrack();
CheckResult conntrack_check(const ConntrackInput& c);

}  // namespace vxt::doctor
