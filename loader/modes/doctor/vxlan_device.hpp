// The VXLAN device and what Calico programs on it per remote node (route -> neighbour ->
// FDB entry with the node's underlay address). A node whose chain is incomplete cannot be
// reached encapsulated; pod routes that leave by the underlay are not encapsulated at all
// (seed 001: IPPool vxlanMode Never without native routing).
#pragma once

#include <string>
#include <vector>

#include "modes/doctor/finding.hpp"
#include "modes/doctor/live.hpp"
#include "modes/doctor/topology.hpp"

namespace vxt::doctor {

struct VxlanNames {
  std::string underlay, vxlan_dev;
  uint16_t port = 4789;
};

inline constexpr uint32_t kVxlanOverhead = 50;  // outer Ethernet + IPv4 + UDP + VXLAN

// One remote pod block as programmed on the VXLAN device.
struct PeerProgramming {
  std::string block;               // "10.244.3.0/24"
  std::string gateway, mac, vtep;  // vtep: the remote node's underlay address, from the FDB
  bool complete() const { return !mac.empty() && !vtep.empty(); }
};

std::vector<PeerProgramming> peer_programming(const Topology& t, const Link& vx);
// Routes into the pod network (the /16s around this node's pod and tunnel addresses) that
// leave by the underlay device, i.e. unencapsulated.
std::vector<Route> unencapsulated_pod_routes(const Topology& t, const VxlanNames& n);

// What the node's devices and routes say it is. Only vxlan_missing is a fault: pod routes that
// leave unencapsulated with no VXLAN device (vxlanMode Never without native routing).
enum class NodeMode {
  vxlan,             // the VXLAN device exists
  vxlan_missing,     // pod routes leave by the underlay, not installed by BGP
  ipip,              // an ipip device (tunl0) is up: Calico's IPIP mode
  bgp,               // every route to another pod block is BIRD's (proto bird)
  not_calico_vxlan,  // no VXLAN device, no routes to other pods' blocks
};
NodeMode node_mode(const Topology& t, const VxlanNames& n);

CheckResult vxlan_check(const Topology& t, const VxlanNames& n);
std::vector<Finding> vxlan_findings(const Topology& t, const VxlanNames& n,
                                    const LiveEvidence& live);

}  // namespace vxt::doctor
