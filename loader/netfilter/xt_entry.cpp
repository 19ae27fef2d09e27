#include "netfilter/xt_entry.hpp"

#include <linux/netfilter/xt_LOG.h>
#include <linux/netfilter/xt_NFLOG.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include <cstddef>
#include <cstring>
#include <optional>

namespace vxt::nf {
namespace {

// A match's or target's name and payload, bounded by the entry that holds it.
struct Part {
  std::string_view name;
  uint8_t revision;
  const char* data;
  size_t len;
};

std::optional<Part> part_at(const char* base, size_t off, size_t end) {
  // xt_entry_match and xt_entry_target share this layout: u16 size, name[29], u8 revision.
  static_assert(sizeof(xt_entry_match) == sizeof(xt_entry_target));
  if (off + sizeof(xt_entry_match) > end) return std::nullopt;
  xt_entry_match m;
  std::memcpy(&m, base + off, sizeof(m));
  size_t size = m.u.user.match_size;
  if (size < sizeof(m) || off + size > end) return std::nullopt;
  const char* name = m.u.user.name;
  return Part{{name, strnlen(name, sizeof(m.u.user.name))},
              m.u.user.revision,
              base + off + sizeof(m),
              size - sizeof(m)};
}

// -m udp/tcp --dport: one port, not a range and not inverted (x_tables keeps it in host order).
std::optional<uint16_t> single_dport(const Part& p) {
  uint16_t dpts[2];
  uint8_t invflags;
  if (p.name == "udp" && p.len >= sizeof(xt_udp)) {
    std::memcpy(dpts, p.data + offsetof(xt_udp, dpts), sizeof(dpts));
    invflags = static_cast<uint8_t>(p.data[offsetof(xt_udp, invflags)]);
    if (invflags & XT_UDP_INV_DSTPT) return std::nullopt;
  } else if (p.name == "tcp" && p.len >= sizeof(xt_tcp)) {
    std::memcpy(dpts, p.data + offsetof(xt_tcp, dpts), sizeof(dpts));
    invflags = static_cast<uint8_t>(p.data[offsetof(xt_tcp, invflags)]);
    if (invflags & XT_TCP_INV_DSTPT) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (dpts[0] != dpts[1]) return std::nullopt;  // a range (0:65535 when no --dport at all)
  return dpts[0];
}

std::optional<NftRule::AddrMatch> address(in_addr addr, in_addr mask, bool negate) {
  if (mask.s_addr == 0 && !negate) return std::nullopt;  // any address
  return NftRule::AddrMatch{addr.s_addr, mask.s_addr, negate};
}

// iptables masks `-i NAME` over the name and its NUL, `-i PREFIX+` over the prefix alone (it
// keeps the `+` in the name, past the mask): the compared bytes are the masked ones. Other masks
// iptables never writes, and IfnameMatch cannot say.
std::optional<NftRule::IfnameMatch> in_interface(const ipt_ip& ip) {
  size_t n = 0;
  while (n < IFNAMSIZ && ip.iniface_mask[n] == 0xFF) ++n;
  for (size_t i = n; i < IFNAMSIZ; ++i)
    if (ip.iniface_mask[i] != 0) return std::nullopt;
  if (n == 0) return std::nullopt;
  return NftRule::IfnameMatch{std::string(ip.iniface, n), (ip.invflags & IPT_INV_VIA_IN) != 0};
}

// NFLOG's and LOG's prefixes are bounded, NUL-padded strings, as the comment's is.
std::optional<std::string> log_prefix(const Part& t) {
  if (t.name == "NFLOG" && t.len >= sizeof(xt_nflog_info))
    return xt_comment(t.data + offsetof(xt_nflog_info, prefix), sizeof(xt_nflog_info::prefix));
  if (t.name == "LOG" && t.len >= sizeof(xt_log_info))
    return xt_comment(t.data + offsetof(xt_log_info, prefix), sizeof(xt_log_info::prefix));
  return std::nullopt;
}

}  // namespace

NftRule parse_ipt_entry(const ipt_entry& entry, std::string_view target, const std::string& table,
                        const std::string& chain, uint64_t position) {
  NftRule r;
  r.key = {"ip", table, chain, position, RuleBackend::iptables_legacy};
  r.packets = entry.counters.pcnt;
  // x_tables counts a rule only once all its matches matched, and DROP or REJECT then ends the
  // packet's traversal: every packet counted is one this rule dropped.
  r.drops = target == "DROP" || target == "REJECT";
  r.counts_drops_only = r.drops;
  const ipt_ip& ip = entry.ip;
  if (ip.proto != 0 && !(ip.invflags & IPT_INV_PROTO)) r.l4proto = static_cast<uint8_t>(ip.proto);
  r.saddr = address(ip.src, ip.smsk, ip.invflags & IPT_INV_SRCIP);
  r.daddr = address(ip.dst, ip.dmsk, ip.invflags & IPT_INV_DSTIP);
  r.iifname = in_interface(ip);

  const char* base = reinterpret_cast<const char*>(&entry);
  size_t matches_end = entry.target_offset;
  for (size_t off = sizeof(ipt_entry); off < matches_end;) {
    auto m = part_at(base, off, matches_end);
    if (!m) break;  // a malformed entry: keep what was read
    // Calico gives a rule two comments: its id ("cali:Ju2p...") and what it does.
    if (auto c = m->name == "comment" ? xt_comment(m->data, m->len) : std::nullopt)
      r.comment = r.comment ? *r.comment + " " + *c : *c;
    if (xt_matches_invalid(m->name, m->revision, m->data, m->len)) r.ct_invalid = true;
    if (auto port = single_dport(*m)) r.dport = port;
    off += sizeof(xt_entry_match) + m->len;
  }
  if (auto t = part_at(base, entry.target_offset, entry.next_offset)) r.log_prefix = log_prefix(*t);
  return r;
}

}  // namespace vxt::nf
