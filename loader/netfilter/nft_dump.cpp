#include "netfilter/nft_dump.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace vxt::nf {
namespace {

constexpr uint32_t kCtStateInvalidBit = 1;  // NF_CT_STATE_INVALID_BIT

// Walks a rule's expressions; `ct state` is a load into a register, then a mask on it.
struct ExprWalk {
  NftRule& rule;
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
  if (name == "counter") {
    w.rule.packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
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

int on_rule(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<NftRule>*>(data);
  std::unique_ptr<nftnl_rule, void (*)(const nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
  if (!r || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return MNL_CB_OK;  // skip, keep going
  NftRule rule;
  rule.key = {std::string(family_name(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY))),
              nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE),
              nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN),
              nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE)};
  uint32_t len = 0;
  if (const void* ud = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len))
    nftnl_udata_parse(ud, len, on_udata, &rule.comment);
  ExprWalk walk{rule, false, std::nullopt, std::nullopt};
  nftnl_expr_foreach(r.get(), on_expr, &walk);
  out->push_back(std::move(rule));
  return MNL_CB_OK;
}

}  // namespace

NftDumper::NftDumper(mnl_socket* nl) : nl_(nl) {}
NftDumper::~NftDumper() { mnl_socket_close(nl_); }

Result<std::unique_ptr<NftDumper>> NftDumper::open() {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl) return errno_error("nfnetlink socket", errno);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return errno_error("nfnetlink bind", err);
  }
  return std::unique_ptr<NftDumper>(new NftDumper(nl));
}

Result<std::unique_ptr<NftDumper>> NftDumper::open_in(int netns_fd) {
  // A socket belongs to the namespace it was created in: make it on a thread that joined the
  // other namespace, so no other thread ever runs there.
  Result<std::unique_ptr<NftDumper>> out = Error{"not run"};
  std::thread t([&] {
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
      out = errno_error("setns into the drop's network namespace", errno);
      return;
    }
    out = open();
  });
  t.join();
  return out;
}

Result<std::vector<NftRule>> NftDumper::rules() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  uint32_t seq = ++seq_;
  nlmsghdr* nlh =
      nftnl_rule_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, NFPROTO_UNSPEC, NLM_F_DUMP, seq);
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return errno_error("nftables dump", errno);
  std::vector<NftRule> out;
  uint32_t portid = mnl_socket_get_portid(nl_);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == ENOENT) return out;  // nf_tables not loaded in this namespace
      return errno_error("nftables dump", errno);
    }
    int r = mnl_cb_run(buf.data(), n, seq, portid, on_rule, &out);
    if (r == MNL_CB_STOP) return out;
    if (r < 0) {
      if (errno == ENOENT) return out;
      return errno_error("nftables dump", errno);
    }
  }
}

}  // namespace vxt::nf
