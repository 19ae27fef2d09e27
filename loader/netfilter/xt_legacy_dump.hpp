// Reads legacy iptables (x_tables) rules and their exact counters through libiptc: the engine
// iptables-legacy drives, which nftables' netlink dump never shows.
#pragma once

#include <string>
#include <vector>

#include "netfilter/nft_rule.hpp"
#include "sys/result.hpp"

namespace vxt::nf {

// The x_tables tables this thread's network namespace already has.
inline constexpr const char* kLegacyTableNames = "/proc/thread-self/net/ip_tables_names";

// The table names `path` lists; no such file (ip_tables not loaded) is an empty list.
Result<std::vector<std::string>> legacy_table_names(const std::string& path = kLegacyTableNames);

// Every rule of every table the calling thread's network namespace already has, keyed by
// position, and each built-in chain's policy as a rule of handle 0. Tables it does not have are
// not opened: libiptc would load their module and create them, changing the node it observes.
Result<std::vector<NftRule>> legacy_rules();

}  // namespace vxt::nf
