// The node's network as rtnetlink reports it: links (with VXLAN parameters), IPv4
// addresses, main-table routes, neighbours and the VXLAN device's FDB. Plain data, so the
// VXLAN checks run on recorded topologies in unit tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/result.hpp"

namespace vxt::doctor {

struct VxlanInfo {
  uint32_t vni = 0;
  uint16_t port = 0;
  std::string local;  // empty when unset
  bool udpcsum = false, learning = false;
  int link = 0;  // ifindex of the underlay it is bound to, 0 if none
};

struct Link {
  int ifindex = 0;
  std::string name, kind;  // kind from IFLA_INFO_KIND: "vxlan", "veth", "" for plain NICs
  uint32_t mtu = 0;
  bool up = false;
  std::optional<VxlanInfo> vxlan;
};

struct Addr {
  int ifindex = 0;
  std::string ip;
  int plen = 0;
};

struct Route {
  std::string dst;  // "0.0.0.0" for default
  int plen = 0;
  std::string gateway;
  int oif = 0;
  uint8_t protocol = 0;  // rtm_protocol: who installed it (RTPROT_BIRD = 12: Calico's BGP)
};

struct Neigh {
  int ifindex = 0;
  std::string ip, mac;
};

struct FdbEntry {
  int ifindex = 0;
  std::string mac, dst;  // dst: the remote VTEP (underlay address) for VXLAN entries
};

struct Topology {
  std::vector<Link> links;
  std::vector<Addr> addrs;
  std::vector<Route> routes;
  std::vector<Neigh> neighs;
  std::vector<FdbEntry> fdb;

  const Link* link(const std::string& name) const;
  const Link* link(int ifindex) const;
};

Result<Topology> read_topology();

}  // namespace vxt::doctor
