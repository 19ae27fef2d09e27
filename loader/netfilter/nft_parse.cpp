#include "netfilter/nft_parse.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <string_view>

namespace vxt::nf {
namespace {

constexpr uint32_t kCtStateInvalidBit = 1;  // NF_CT_STATE_INVALID_BIT

// Walks a rule's expressions; `ct state` is a load into a register, then a mask on it.
struct ExprWalk {
  NftRule& rule;
  bool counter_seen = false;  // a counter, and no match after it yet
  bool ct_state_loaded = false;
  std::optional<uint32_t> payload;  // (base << 16) | offset of the last payload load
  std::optional<uint32_t> mask;     // a bitwise on that load (an address prefix)
};

constexpr uint32_t kNetwork = NFT_PAYLOAD_NETWORK_HEADER << 16;
constexpr uint32_t kL4Proto = 0xFFFFFFFF;  // meta l4proto, in `payload`
constexpr uint32_t kIifname = 0xFFFFFFFE;  // meta iifname, in `payload`

std::optional<uint64_t> cmp_value(nftnl_expr* e) {
  if (nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) != NFT_CMP_EQ) return std::nullopt;
  uint32_t len = 0;
  const auto* d = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len));
  if (!d) return std::nullopt;
  if (len == 1) return d[0];
  if (len == 2) return (d[0] << 8) | d[1];  // network order: ports
  return std::nullopt;
}

// `ip saddr [!=] A[/N]`: iptables-nft loads only the prefix's whole bytes (a /16 is a 2-byte
// load), and masks the rest with a bitwise.
std::optional<NftRule::AddrMatch> cmp_address(nftnl_expr* e, std::optional<uint32_t> bitmask) {
  uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), len = 0;
  const void* d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
  if (!d || len == 0 || len > 4 || (op != NFT_CMP_EQ && op != NFT_CMP_NEQ)) return std::nullopt;
  NftRule::AddrMatch m;
  uint8_t prefix[4] = {};
  std::memset(prefix, 0xFF, len);
  std::memcpy(&m.mask, prefix, 4);
  if (bitmask) m.mask &= *bitmask;
  std::memcpy(&m.addr, d, len);
  m.negate = op == NFT_CMP_NEQ;
  return m;
}

int on_expr(nftnl_expr* e, void* data) {
  auto& w = *static_cast<ExprWalk*>(data);
  std::string_view name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  // Only a counter after every match counts dropped packets alone (iptables-nft puts it right
  // before the verdict; native nft may put it anywhere): any later expression but a verdict,
  // a log or another counter makes it count packets the rule did not drop.
  static constexpr std::string_view kAfterCounter[] = {"immediate", "reject", "target", "log",
                                                       "counter"};
  if (w.counter_seen && std::find(std::begin(kAfterCounter), std::end(kAfterCounter), name) ==
                            std::end(kAfterCounter))
    w.rule.counts_drops_only = false;
  if (name == "counter") {
    w.rule.packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
    w.rule.counts_drops_only = true;
    w.counter_seen = true;
  } else if (name == "immediate") {
    if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT) &&
        static_cast<int32_t>(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT)) == NF_DROP)
      w.rule.drops = true;
  } else if (name == "reject") {
    w.rule.drops = true;
  } else if (name == "target") {
    std::string_view t = nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME);
    if (t == "REJECT" || t == "DROP") w.rule.drops = true;
  } else if (name == "match") {
    std::string_view m = nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME);
    uint32_t len = 0;
    const void* info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
    // Calico gives a rule two: its id ("cali:Ju2p...") and what it does.
    if (auto c = m == "comment" ? xt_comment(info, len) : std::nullopt)
      w.rule.comment = w.rule.comment ? *w.rule.comment + " " + *c : *c;
    if (xt_matches_invalid(m, nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV), info, len))
      w.rule.ct_invalid = true;
  } else if (name == "ct") {
    w.ct_state_loaded = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY) == NFT_CT_STATE;
  } else if (name == "bitwise") {
    uint32_t len = 0;
    const auto* mask =
        static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len));
    uint32_t m = 0;
    if (mask && len >= 1) std::memcpy(&m, mask, std::min<uint32_t>(len, sizeof(m)));
    if (w.ct_state_loaded && (m & kCtStateInvalidBit)) w.rule.ct_invalid = true;  // host order
    w.ct_state_loaded = false;
    if (w.payload && len <= 4) w.mask = m;  // network order, like the address
  } else if (name == "meta") {
    uint32_t key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
    w.payload = key == NFT_META_L4PROTO   ? std::optional<uint32_t>(kL4Proto)
                : key == NFT_META_IIFNAME ? std::optional<uint32_t>(kIifname)
                                          : std::nullopt;
    w.mask.reset();
  } else if (name == "payload") {
    w.payload = (nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE) << 16) |
                nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
    w.mask.reset();
  } else if (name == "cmp" && w.payload == kIifname) {
    uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), len = 0;
    const char* d = static_cast<const char*>(nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len));
    if (d && (op == NFT_CMP_EQ || op == NFT_CMP_NEQ))
      w.rule.iifname = NftRule::IfnameMatch{std::string(d, len), op == NFT_CMP_NEQ};
    w.payload.reset();
  } else if (name == "cmp" && w.payload) {
    auto addr = cmp_address(e, w.mask);
    if (addr && (*w.payload == (kNetwork | 12) || *w.payload == (kNetwork | 16))) {
      (*w.payload == (kNetwork | 12) ? w.rule.saddr : w.rule.daddr) = addr;
    } else if (auto v = cmp_value(e);
               v && (*w.payload == kL4Proto || *w.payload == (kNetwork | 9))) {
      w.rule.l4proto = static_cast<uint8_t>(*v);
    } else if (v && *w.payload == ((NFT_PAYLOAD_TRANSPORT_HEADER << 16) | 2)) {
      w.rule.dport = static_cast<uint16_t>(*v);
    }
    w.payload.reset();
    w.mask.reset();
  }
  return MNL_CB_OK;
}

int on_udata(const nftnl_udata* attr, void* data) {
  if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
    const char* c = static_cast<const char*>(nftnl_udata_get(attr));
    auto* out = static_cast<std::optional<std::string>*>(data);
    *out = std::string(c, strnlen(c, nftnl_udata_len(attr)));
  }
  return 0;
}

}  // namespace

std::optional<NftRule> parse_rule(const nlmsghdr* nlh) {
  std::unique_ptr<nftnl_rule, void (*)(const nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
  if (!r || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return std::nullopt;
  if (!nftnl_rule_is_set(r.get(), NFTNL_RULE_TABLE) ||
      !nftnl_rule_is_set(r.get(), NFTNL_RULE_CHAIN))
    return std::nullopt;
  NftRule rule;
  rule.key = {std::string(family_name(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY))),
              nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE),
              nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN),
              nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE)};
  uint32_t len = 0;
  if (const void* ud = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len))
    nftnl_udata_parse(ud, len, on_udata, &rule.comment);
  ExprWalk walk{rule};
  nftnl_expr_foreach(r.get(), on_expr, &walk);
  return rule;
}

std::optional<NftChain> parse_chain(const nlmsghdr* nlh) {
  std::unique_ptr<nftnl_chain, void (*)(const nftnl_chain*)> c(nftnl_chain_alloc(),
                                                               nftnl_chain_free);
  if (!c || nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return std::nullopt;
  if (!nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TABLE) ||
      !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_NAME))
    return std::nullopt;
  NftChain chain{std::string(family_name(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY))),
                 nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE),
                 nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME),
                 nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE)};
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY))
    chain.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY);
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_PACKETS))
    chain.packets = nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_PACKETS);
  return chain;
}

std::optional<NftRule> policy_rule(const NftChain& c) {
  if (!c.policy) return std::nullopt;
  NftRule r;
  r.key = {c.family, c.table, c.name, 0};
  r.policy = true;
  r.drops = *c.policy == NF_DROP;
  // A base chain's counter counts exactly the packets its policy decided.
  r.packets = c.packets;
  r.counts_drops_only = r.drops && c.packets.has_value();
  return r;
}

}  // namespace vxt::nf
