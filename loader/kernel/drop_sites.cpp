#include "kernel/drop_sites.hpp"

#include <algorithm>
#include <array>

namespace vxt {
namespace {

// A function is listed only when every drop in it is of its cause, or when BPF can prove
// the cause from the packet (`check`); any other drop there keeps the fallback cause.
constexpr auto kRules = std::to_array<SiteRule>({
    // The software checksum failed: outer UDP (the VXLAN socket), inner UDP and TCP, ICMP.
    {"udp_queue_rcv_one_skb", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"udp_queue_rcv_skb", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"__udp4_lib_rcv", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"udp_recvmsg", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    // A reader's poll()/FIONREAD checks the queued datagram's checksum (5.10).
    {"__first_packet_length", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"first_packet_length", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"tcp_v4_rcv", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"tcp_v4_do_rcv", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"icmp_rcv", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_L4_CSUM},
    {"ip_rcv_core", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_IP_CSUM},
    {"ip_rcv", VXT_CAUSE_CHECKSUM, VXT_SITE_CHECK_IP_CSUM},  // ip_rcv_core inlined
    // Reverse-path filtering: ip_rcv_finish_core, inlined into these, frees what the input
    // route refused; rp_filter's refusals are the ones it counts in LINUX_MIB_IPRPFILTER.
    {"ip_rcv_finish", VXT_CAUSE_RP_FILTER, VXT_SITE_CHECK_RPFILTER_MIB},
    {"ip_rcv_finish_core", VXT_CAUSE_RP_FILTER, VXT_SITE_CHECK_RPFILTER_MIB},
    {"ip_sublist_rcv", VXT_CAUSE_RP_FILTER, VXT_SITE_CHECK_RPFILTER_MIB},
    {"ip_list_rcv_finish", VXT_CAUSE_RP_FILTER, VXT_SITE_CHECK_RPFILTER_MIB},
    // A netfilter verdict; conntrack's when the packet has no entry (refined in BPF).
    {"nf_hook_slow", VXT_CAUSE_NETFILTER, VXT_SITE_CHECK_NONE},
    // The VXLAN receive path: unknown VNI, bad flags, an invalid inner source MAC.
    {"vxlan_rcv", VXT_CAUSE_VXLAN, VXT_SITE_CHECK_NONE},
    // Constant noise on every node: IPv6 multicast nobody listens to, and sockets closed
    // with data still queued.
    {"ip6_mc_input", VXT_CAUSE_BACKGROUND, VXT_SITE_CHECK_NONE},
    {"skb_queue_purge", VXT_CAUSE_BACKGROUND, VXT_SITE_CHECK_NONE},
    {"skb_queue_purge_reason", VXT_CAUSE_BACKGROUND, VXT_SITE_CHECK_NONE},
    // Netlink messages, not packets: every nftables/iptables command frees its batch here.
    {"nfnetlink_rcv_batch", VXT_CAUSE_BACKGROUND, VXT_SITE_CHECK_NONE},
    // and on 5.10 nf_tables_commit frees ruleset notifications (netlink too, not packets).
    {"nf_tables_commit", VXT_CAUSE_BACKGROUND, VXT_SITE_CHECK_NONE},
});

const SiteRule* rule_for(std::string_view symbol) {
  auto base = base_symbol_name(symbol);
  for (const auto& r : kRules)
    if (r.function == base) return &r;
  return nullptr;
}

}  // namespace

std::span<const SiteRule> drop_site_rules() { return kRules; }

std::string_view base_symbol_name(std::string_view name) { return name.substr(0, name.find('.')); }

std::vector<vxt_drop_site> resolve_drop_sites(const Symbolizer& symbols) {
  std::vector<vxt_drop_site> sites;
  symbols.for_each_symbol([&](std::string_view name, uint64_t start, uint64_t end) {
    const SiteRule* r = rule_for(name);
    if (!r || sites.size() >= VXT_MAX_SITES) return;
    vxt_drop_site s{};
    s.start = start;
    s.end = end;
    s.cause = r->cause;
    s.check = r->check;
    sites.push_back(s);
  });
  // Already in address order; sorting keeps the BPF binary search right whatever the input.
  std::sort(sites.begin(), sites.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  return sites;
}

}  // namespace vxt
