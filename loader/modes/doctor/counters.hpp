// Kernel SNMP/netstat counters that corroborate drops: Udp InCsumErrors for bad
// checksums, TcpExt IPReversePathFilter for rp_filter. Per network namespace.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "modes/doctor/finding.hpp"

namespace vxt::doctor {

// "Udp.InCsumErrors" -> value.
using Counters = std::map<std::string, uint64_t>;

inline constexpr const char* kUdpCsumErrors = "Udp.InCsumErrors";
inline constexpr const char* kTcpCsumErrors = "Tcp.InCsumErrors";
inline constexpr const char* kRpFilterCounter = "TcpExt.IPReversePathFilter";

// /proc/net/snmp and /proc/net/netstat share a format: a header line of names, then a
// line of values, both starting with "Group:".
Counters parse_proc_counters(const std::string& text);
uint64_t counter_delta(const Counters& before, const Counters& after, const std::string& name);

Counters read_counters();
CheckResult counters_check(const Counters& c);

}  // namespace vxt::doctor
