// The netfilter rule that dropped a packet, as events and the summary name it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vxt {

// Which of the kernel's two rule engines holds the rule.
enum class RuleBackend : uint8_t {
  nftables,         // nf_tables: native nft, iptables-nft, firewalld, kube-proxy nftables mode
  iptables_legacy,  // x_tables, read through libiptc
};

struct RuleRecord {
  std::string family, table, chain;
  // nftables: the rule's handle (unique in its table). Legacy iptables has no handles: the
  // rule's position in its chain, 1-based. 0 for a chain's policy.
  uint64_t handle = 0;
  std::optional<std::string> comment;
  bool ct_invalid = false;  // matches conntrack state INVALID: conntrack's verdict
  bool policy = false;      // the chain's policy dropped it, not a rule of the chain
  RuleBackend backend = RuleBackend::nftables;
};

struct RuleTotal {
  RuleRecord rule;
  uint64_t drops = 0;  // its counter's rise since vxtrace started watching the namespace
  uint32_t netns = 0;  // the network namespace (inode) the rule is in
};

}  // namespace vxt
