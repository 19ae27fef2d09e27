#include "modes/doctor/topology.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "sys/nl_socket.hpp"

namespace vxt::doctor {
namespace {

std::string ipv4(const nlattr* a) {
  if (!a || mnl_attr_get_payload_len(a) != 4) return "";
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, mnl_attr_get_payload(a), buf, sizeof buf);
  return buf;
}

std::string mac(const nlattr* a) {
  if (!a || mnl_attr_get_payload_len(a) != 6) return "";
  const auto* b = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                     b[5]);
}

template <typename Msg>
nlmsghdr* request(char* buf, uint16_t type, uint8_t family) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  auto* m = static_cast<Msg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Msg)));
  reinterpret_cast<uint8_t*>(m)[0] = family;  // every rtnetlink header starts with the family
  return nlh;
}

VxlanInfo parse_vxlan(const nlattr* data) {
  auto t = parse_nested<IFLA_VXLAN_MAX>(data);
  VxlanInfo v;
  if (t[IFLA_VXLAN_ID]) v.vni = mnl_attr_get_u32(t[IFLA_VXLAN_ID]);
  if (t[IFLA_VXLAN_PORT]) v.port = ntohs(mnl_attr_get_u16(t[IFLA_VXLAN_PORT]));
  v.local = ipv4(t[IFLA_VXLAN_LOCAL]);
  if (t[IFLA_VXLAN_UDP_CSUM]) v.udpcsum = mnl_attr_get_u8(t[IFLA_VXLAN_UDP_CSUM]);
  if (t[IFLA_VXLAN_LEARNING]) v.learning = mnl_attr_get_u8(t[IFLA_VXLAN_LEARNING]);
  if (t[IFLA_VXLAN_LINK]) v.link = static_cast<int>(mnl_attr_get_u32(t[IFLA_VXLAN_LINK]));
  return v;
}

void on_link(const nlmsghdr* nlh, Topology& topo) {
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  auto t = parse_attrs<IFLA_MAX>(nlh, sizeof(ifinfomsg));
  Link l;
  l.ifindex = ifi->ifi_index;
  l.up = ifi->ifi_flags & IFF_UP;
  if (t[IFLA_IFNAME]) l.name = mnl_attr_get_str(t[IFLA_IFNAME]);
  if (t[IFLA_MTU]) l.mtu = mnl_attr_get_u32(t[IFLA_MTU]);
  if (t[IFLA_LINKINFO]) {
    auto info = parse_nested<IFLA_INFO_MAX>(t[IFLA_LINKINFO]);
    if (info[IFLA_INFO_KIND]) l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
    if (l.kind == "vxlan" && info[IFLA_INFO_DATA]) l.vxlan = parse_vxlan(info[IFLA_INFO_DATA]);
  }
  topo.links.push_back(std::move(l));
}

void on_addr(const nlmsghdr* nlh, Topology& topo) {
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  auto t = parse_attrs<IFA_MAX>(nlh, sizeof(ifaddrmsg));
  const nlattr* a = t[IFA_LOCAL] ? t[IFA_LOCAL] : t[IFA_ADDRESS];
  if (ifa->ifa_family == AF_INET && a)
    topo.addrs.push_back({static_cast<int>(ifa->ifa_index), ipv4(a), ifa->ifa_prefixlen});
}

void on_route(const nlmsghdr* nlh, Topology& topo) {
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  auto t = parse_attrs<RTA_MAX>(nlh, sizeof(rtmsg));
  uint32_t table = t[RTA_TABLE] ? mnl_attr_get_u32(t[RTA_TABLE]) : rtm->rtm_table;
  if (rtm->rtm_family != AF_INET || table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST) return;
  Route r;
  r.dst = t[RTA_DST] ? ipv4(t[RTA_DST]) : "0.0.0.0";
  r.plen = rtm->rtm_dst_len;
  r.gateway = ipv4(t[RTA_GATEWAY]);
  r.oif = t[RTA_OIF] ? static_cast<int>(mnl_attr_get_u32(t[RTA_OIF])) : 0;
  r.protocol = rtm->rtm_protocol;
  topo.routes.push_back(std::move(r));
}

void on_neigh(const nlmsghdr* nlh, Topology& topo) {
  const auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  auto t = parse_attrs<NDA_MAX>(nlh, sizeof(ndmsg));
  if (nd->ndm_family == AF_BRIDGE)
    topo.fdb.push_back({nd->ndm_ifindex, mac(t[NDA_LLADDR]), ipv4(t[NDA_DST])});
  else if (nd->ndm_family == AF_INET && !(nd->ndm_state & (NUD_FAILED | NUD_INCOMPLETE)))
    topo.neighs.push_back({nd->ndm_ifindex, ipv4(t[NDA_DST]), mac(t[NDA_LLADDR])});
}

Result<void> dump(NlSocket& nl, nlmsghdr* req, Topology& topo,
                  void (*handler)(const nlmsghdr*, Topology&)) {
  return nl.dump(req, [&](const nlmsghdr* m) { handler(m, topo); });
}

}  // namespace

const Link* Topology::link(const std::string& name) const {
  for (const auto& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

const Link* Topology::link(int ifindex) const {
  for (const auto& l : links)
    if (l.ifindex == ifindex) return &l;
  return nullptr;
}

Result<Topology> read_topology() {
  auto nl = NlSocket::open(NETLINK_ROUTE);
  if (!nl) return nl.error();
  Topology topo;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  struct Step {
    uint16_t type;
    uint8_t family;
    void (*handler)(const nlmsghdr*, Topology&);
  };
  const Step steps[] = {{RTM_GETLINK, AF_UNSPEC, on_link},
                        {RTM_GETADDR, AF_INET, on_addr},
                        {RTM_GETROUTE, AF_INET, on_route},
                        {RTM_GETNEIGH, AF_INET, on_neigh},
                        {RTM_GETNEIGH, AF_BRIDGE, on_neigh}};
  for (const auto& s : steps) {
    nlmsghdr* req = s.type == RTM_GETLINK    ? request<ifinfomsg>(buf.data(), s.type, s.family)
                    : s.type == RTM_GETADDR  ? request<ifaddrmsg>(buf.data(), s.type, s.family)
                    : s.type == RTM_GETROUTE ? request<rtmsg>(buf.data(), s.type, s.family)
                                             : request<ndmsg>(buf.data(), s.type, s.family);
    if (auto r = dump(*nl, req, topo, s.handler); !r) return r.error();
  }
  return topo;
}

}  // namespace vxt::doctor
