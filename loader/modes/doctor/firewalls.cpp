#include "modes/doctor/firewalls.hpp"

#include <fmt/format.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "sys/nl_socket.hpp"

namespace vxt::doctor {
namespace {

const std::set<std::string> kIptablesTables = {"filter", "nat", "mangle", "raw", "security"};
const std::set<std::string> kClusterTables = {"calico", "kube-proxy", "cilium"};

std::string family_name(uint8_t f) {
  switch (f) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
  }
  return std::to_string(f);
}

std::string manager_of(const NftChain& c) {
  if (c.chain.rfind("ufw-", 0) == 0 || c.chain.rfind("ufw6-", 0) == 0) return "ufw";
  // firewalld: its own nft table, or its iptables-backend chains.
  if (c.table == "firewalld" || c.chain == "INPUT_direct" || c.chain == "FORWARD_direct")
    return "firewalld";
  bool iptables_nft =
      c.family != "inet" && c.family != "netdev" && kIptablesTables.contains(c.table);
  if (iptables_nft || kClusterTables.contains(c.table)) return "";
  return "nftables";
}

Result<void> dump_objects(NlSocket& nl, uint16_t msg, std::vector<NftChain>& out) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = NFPROTO_UNSPEC;
  nfg->version = NFNETLINK_V0;
  return nl.dump(nlh, [&](const nlmsghdr* m) {
    const auto* g = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(m));
    if (msg == NFT_MSG_GETTABLE) {
      auto t = parse_attrs<NFTA_TABLE_MAX>(m, sizeof(nfgenmsg));
      if (t[NFTA_TABLE_NAME])
        out.push_back({family_name(g->nfgen_family), mnl_attr_get_str(t[NFTA_TABLE_NAME]), ""});
      return;
    }
    auto t = parse_attrs<NFTA_CHAIN_MAX>(m, sizeof(nfgenmsg));
    if (t[NFTA_CHAIN_TABLE] && t[NFTA_CHAIN_NAME])
      out.push_back({family_name(g->nfgen_family), mnl_attr_get_str(t[NFTA_CHAIN_TABLE]),
                     mnl_attr_get_str(t[NFTA_CHAIN_NAME])});
  });
}

std::string disable_command(const std::string& m) {
  if (m == "firewalld") return "systemctl disable --now firewalld && systemctl mask firewalld";
  if (m == "ufw") return "ufw disable && systemctl disable --now ufw";
  return "systemctl disable --now nftables";
}

}  // namespace

std::set<std::string> firewall_managers(const std::vector<NftChain>& ruleset) {
  std::set<std::string> found;
  for (const auto& c : ruleset)
    if (auto m = manager_of(c); !m.empty()) found.insert(m);
  return found;
}

Result<std::vector<NftChain>> read_nft_ruleset() {
  auto nl = NlSocket::open(NETLINK_NETFILTER);
  if (!nl) return nl.error();
  std::vector<NftChain> out;
  for (uint16_t msg : {NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN})
    if (auto r = dump_objects(*nl, msg, out); !r) return r.error();
  return out;
}

CheckResult firewalls_check(const std::set<std::string>& managers, const std::string& error) {
  if (!error.empty()) return {"firewalls", "error", "nftables ruleset unreadable: " + error, {}};
  std::string list = managers.empty() ? "none" : fmt::format("{}", fmt::join(managers, ", "));
  return {"firewalls",
          managers.size() > 1 ? "warn" : "ok",
          "host firewall managers: " + list,
          {{"managers", managers}}};
}

std::vector<Finding> firewall_findings(const std::set<std::string>& managers) {
  if (managers.size() < 2) return {};
  auto f = Finding::make("firewalls_fighting", Severity::warning, Evidence::configuration);
  f.title = fmt::format("{} firewall managers are active at once: {}", managers.size(),
                        fmt::join(managers, ", "));
  f.evidence = {{"managers", managers}};
  f.root_cause =
      "Several firewall managers install rules on the same netfilter hooks, so each "
      "can drop what another (and Calico) allows, and reloads undo each other "
      "(e.g. UFW and firewalld both enabled).";
  f.run_on = "this node";
  // Keep one, as seed 004 did (UFW stayed, firewalld went); the others are disabled.
  std::string keep = managers.contains("ufw") ? "ufw" : *managers.begin();
  for (const auto& m : managers)
    if (m != keep) f.fix_now.push_back(disable_command(m));
  f.persistent = {
      fmt::format("keep only {} (mask the others' units in the node image or "
                  "config management)",
                  keep)};
  return {f};
}

}  // namespace vxt::doctor
