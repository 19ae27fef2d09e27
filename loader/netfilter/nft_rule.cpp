#include "netfilter/nft_rule.hpp"

#include <linux/netfilter.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_state.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace vxt::nf {
namespace {

// The fields vxtrace reads sit at the same offsets in revisions 1-3 (rev 1's state_mask is a u8).
constexpr size_t kCtMatchFlags = offsetof(xt_conntrack_mtinfo3, match_flags);
constexpr size_t kCtInvertFlags = offsetof(xt_conntrack_mtinfo3, invert_flags);
constexpr size_t kCtStateMask = offsetof(xt_conntrack_mtinfo3, state_mask);
static_assert(offsetof(xt_conntrack_mtinfo1, state_mask) == kCtStateMask);
static_assert(offsetof(xt_conntrack_mtinfo2, state_mask) == kCtStateMask);
constexpr uint16_t kCtFlagState = XT_CONNTRACK_STATE;
static_assert(XT_CONNTRACK_STATE_INVALID == XT_STATE_INVALID);
constexpr uint16_t kStateInvalid = XT_STATE_INVALID;

uint16_t u16_at(const void* p, size_t off) {
  uint16_t v;
  std::memcpy(&v, static_cast<const char*>(p) + off, sizeof(v));
  return v;
}

}  // namespace

bool NftRule::IfnameMatch::matches(std::string_view ifname) const {
  std::string padded(ifname);
  padded.resize(std::max(padded.size(), bytes.size()), '\0');  // as the kernel's register holds it
  return (padded.compare(0, bytes.size(), bytes) == 0) != negate;
}

std::string_view family_name(uint32_t nfproto) {
  switch (nfproto) {
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_INET: return "inet";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
    default: return "unknown";
  }
}

std::optional<std::string> xt_comment(const void* info, size_t len) {
  if (!info || len == 0) return std::nullopt;
  const char* s = static_cast<const char*>(info);
  std::string c(s, strnlen(s, len));
  if (c.empty()) return std::nullopt;
  return c;
}

bool xt_matches_invalid(std::string_view match, uint32_t rev, const void* info, size_t len) {
  if (!info) return false;
  if (match == "state") {
    uint32_t mask;
    if (len < sizeof(mask)) return false;
    std::memcpy(&mask, info, sizeof(mask));
    return mask & kStateInvalid;
  }
  if (match != "conntrack" || rev < 1 || rev > 3 || len < kCtStateMask + 2) return false;
  uint16_t flags = u16_at(info, kCtMatchFlags), invert = u16_at(info, kCtInvertFlags);
  uint16_t state =
      rev == 1 ? static_cast<const uint8_t*>(info)[kCtStateMask] : u16_at(info, kCtStateMask);
  return (flags & kCtFlagState) && !(invert & kCtFlagState) && (state & kStateInvalid);
}

}  // namespace vxt::nf
