// One nftables rule as vxtrace needs it to name the rule that dropped a packet: where it is,
// its counter, whether it drops, and what it matches that tells drops apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "decode/rule_record.hpp"

namespace vxt::nf {

struct RuleKey {
  std::string family, table, chain;  // family: ip | ip6 | inet | arp | bridge | netdev
  uint64_t handle = 0;               // legacy iptables: the position in the chain; policy: 0
  RuleBackend backend = RuleBackend::nftables;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted <=>'s own 0
  auto operator<=>(const RuleKey&) const = default;
};

struct NftRule {
  RuleKey key;
  std::optional<std::string> comment;  // nft's own, or iptables' -m comment
  std::optional<uint64_t> packets;     // its counter; iptables-nft rules always have one
  bool drops = false;                  // verdict drop, or REJECT (which drops after replying)
  // Its counter follows every match, so each packet it counts was dropped by this rule: only
  // such counters can prove which rule dropped a packet.
  bool counts_drops_only = false;
  // A drop rule whose counter proves what it dropped: the only counters naming relies on.
  bool counts_its_drops() const { return drops && counts_drops_only && packets.has_value(); }
  bool policy = false;  // a base chain's policy, not a rule: `packets` its counter
  std::optional<std::string> log_prefix;  // nft `log prefix`, or iptables' NFLOG/LOG prefix
  bool ct_invalid = false;                // matches conntrack state INVALID
  // Matches that can rule a dropped flow out when several drop rules moved at once.
  struct AddrMatch {
    uint32_t addr = 0, mask = 0xFFFFFFFF;  // network order
    bool negate = false;
    bool matches(uint32_t a) const { return ((a & mask) == addr) != negate; }
  };
  std::optional<uint8_t> l4proto;
  std::optional<uint16_t> dport;
  std::optional<AddrMatch> saddr, daddr;  // IPv4
  // `-i NAME` / `-i PREFIX+` / `! -i ...`: the compared bytes of the 16-byte, NUL-padded name.
  struct IfnameMatch {
    std::string bytes;
    bool negate = false;
    bool matches(std::string_view ifname) const;
  };
  std::optional<IfnameMatch> iifname;
};

std::string_view family_name(uint32_t nfproto);

// xt match payloads, as iptables-nft stores them (the `match` expression's info bytes).
std::optional<std::string> xt_comment(const void* info, size_t len);
// -m conntrack --ctstate INVALID (revisions 1-3) and -m state --state INVALID.
bool xt_matches_invalid(std::string_view match, uint32_t rev, const void* info, size_t len);

}  // namespace vxt::nf
