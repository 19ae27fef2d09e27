// nf_tables netlink messages (dump replies and ruleset notifications, which share one format)
// as vxtrace's rule model.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>

#include "netfilter/nft_rule.hpp"

namespace vxt::nf {

// A chain: its policy and counter matter for base chains only.
struct NftChain {
  std::string family, table, name;
  uint64_t handle = 0;
  std::optional<uint32_t> policy;   // NF_DROP / NF_ACCEPT; base chains only
  std::optional<uint64_t> packets;  // base chains with counters: packets that met the policy
};

// NFT_MSG_NEWRULE / NFT_MSG_DELRULE; nullopt for a message libnftnl cannot parse.
std::optional<NftRule> parse_rule(const nlmsghdr* nlh);
// NFT_MSG_NEWCHAIN / NFT_MSG_DELCHAIN.
std::optional<NftChain> parse_chain(const nlmsghdr* nlh);

// The policy of a base chain as a pseudo-rule (handle 0), so a policy drop is named and
// counted like a rule; nullopt for a chain without a policy.
std::optional<NftRule> policy_rule(const NftChain& c);

}  // namespace vxt::nf
