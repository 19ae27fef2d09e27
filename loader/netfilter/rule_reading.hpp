// One reading of a network namespace's drop rules, nftables' and legacy iptables': their counters
// (for the exact window and the totals) and what each matches (to name them). Another namespace is
// read through a socket made for this reading and closed after it, so vxtrace never keeps a
// namespace alive.
#pragma once

#include <cstdint>
#include <map>

#include "netfilter/counter_window.hpp"
#include "netfilter/nft_rule.hpp"
#include "sys/result.hpp"

namespace vxt::nf {

struct RuleReading {
  CounterReading counters;           // start/end set in CLOCK_MONOTONIC ns
  std::map<RuleKey, NftRule> rules;  // every drop rule and dropping policy
};

// The calling thread's namespace when `inode` is its own; otherwise the namespace with that
// inode, found by open_netns(). Errors (no such namespace any more, a dump cut) come back as
// an incomplete reading's error.
Result<RuleReading> read_rules(uint32_t inode, bool own);

int64_t monotonic_ns();

// What a legacy iptables rule is, apart from its position (which an insert above it shifts):
// its chain and every match vxtrace parses. Two identical rules share it.
uint64_t legacy_identity(const NftRule& r);

}  // namespace vxt::nf
