// One legacy iptables (x_tables) rule, as libiptc hands it, turned into the NftRule vxtrace
// names drops with: the same fields nft_dump reads from iptables-nft's rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "netfilter/nft_rule.hpp"

struct ipt_entry;

namespace vxt::nf {

// `entry` with its matches and target, as iptc_first_rule/iptc_next_rule return it; `target`
// is iptc_get_target's name for it ("DROP" for the standard NF_DROP verdict, a chain's name
// for a jump); `position` is its 1-based place in `chain`, legacy iptables' only rule handle.
NftRule parse_ipt_entry(const ipt_entry& entry, std::string_view target, const std::string& table,
                        const std::string& chain, uint64_t position);

}  // namespace vxt::nf
