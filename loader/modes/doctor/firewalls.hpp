// Firewall managers fighting over the same netfilter hooks (seed 004: UFW and firewalld
// both active). Detected from the nftables ruleset the kernel holds for this namespace:
// every manager leaves recognisable tables or chains, whichever daemon is (not) running.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "modes/doctor/finding.hpp"
#include "sys/result.hpp"

namespace vxt::doctor {

struct NftChain {
  std::string family, table, chain;  // chain empty: the table itself
};

// Managers found: "ufw", "firewalld", "nftables" (a hand-written or nftables.service table).
// iptables-nft tables, kube-proxy and Calico are the cluster's own and not counted.
std::set<std::string> firewall_managers(const std::vector<NftChain>& ruleset);

Result<std::vector<NftChain>> read_nft_ruleset();

CheckResult firewalls_check(const std::set<std::string>& managers, const std::string& error);
std::vector<Finding> firewall_findings(const std::set<std::string>& managers);

}  // namespace vxt::doctor
