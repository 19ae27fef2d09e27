#include "modes/doctor/vxlan_device.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"

namespace vxt::doctor {
namespace {

// Calico's IPPools are commonly /16 (or /18 in Kubespray); a /16 around local pod
// addresses catches routes to other nodes' blocks without knowing the pool.
constexpr int kPodNetPrefix = 16;
constexpr uint8_t kRtprotBird = 12;  // RTPROT_BIRD: routes Calico's BIRD installed

uint32_t addr(const std::string& s) {
  in_addr a{};
  inet_pton(AF_INET, s.c_str(), &a);
  return ntohl(a.s_addr);
}

uint32_t mask(int plen) { return plen == 0 ? 0 : ~0u << (32 - plen); }

std::string route_text(const Route& r, const Topology& t) {
  const Link* l = t.link(r.oif);
  std::string s = fmt::format("{}/{}", r.dst, r.plen);
  if (!r.gateway.empty()) s += " via " + r.gateway;
  return s + " dev " + (l ? l->name : std::to_string(r.oif));
}

// This node's pod-side addresses: /32 routes to cali* devices and the tunnel address.
std::set<uint32_t> pod_nets(const Topology& t, const Link* vx) {
  std::set<uint32_t> nets;
  for (const auto& r : t.routes) {
    const Link* l = t.link(r.oif);
    if (l && l->name.rfind("cali", 0) == 0) nets.insert(addr(r.dst) & mask(kPodNetPrefix));
  }
  for (const auto& a : t.addrs)
    if (vx && a.ifindex == vx->ifindex) nets.insert(addr(a.ip) & mask(kPodNetPrefix));
  return nets;
}

const char* kCalicoVxlanOn =
    "kubectl patch ippools.crd.projectcalico.org default-pool --type merge -p "
    "'{\"spec\":{\"vxlanMode\":\"Always\",\"ipipMode\":\"Never\"}}'";
const char* kRestartCalico =
    "kubectl -n kube-system rollout restart ds calico-node && kubectl -n kube-system rollout "
    "status ds calico-node";

Finding device_missing(const Topology& t, const VxlanNames& n) {
  auto f = Finding::make("vxlan_device_missing", Severity::critical, Evidence::configuration);
  f.title = fmt::format("{} does not exist: this node encapsulates no pod traffic", n.vxlan_dev);
  json routes = json::array();
  for (const auto& r : unencapsulated_pod_routes(t, n)) routes.push_back(route_text(r, t));
  f.evidence = {
      {"vxlan_dev", n.vxlan_dev}, {"present", false}, {"pod_routes_via_underlay", routes}};
  f.root_cause =
      "Calico runs without VXLAN encapsulation (IPPool vxlanMode: Never), so packets "
      "to other nodes' pods leave unencapsulated and die unless the underlay routes pod CIDRs.";
  f.run_on = "the cluster (kubectl)";
  f.fix_now = {kCalicoVxlanOn, kRestartCalico};
  f.persistent = {"IPPool spec.vxlanMode: Always (ipipMode: Never)",
                  "calico-node env CALICO_IPV4POOL_VXLAN=Always; Kubespray: calico_vxlan_mode: "
                  "'Always' and calico_network_backend: vxlan in group_vars"};
  return f;
}

Finding incomplete_peer(const PeerProgramming& p, const VxlanNames& n) {
  auto f = Finding::make("peer_not_encapsulated", Severity::critical, Evidence::configuration);
  f.title = fmt::format("pods in {} cannot be reached: {} has no {} entry for {}", p.block,
                        n.vxlan_dev, p.mac.empty() ? "neighbour" : "FDB", p.gateway);
  f.evidence = {{"block", p.block},
                {"gateway", p.gateway},
                {"neighbour_mac", p.mac.empty() ? json(nullptr) : json(p.mac)},
                {"fdb_vtep", nullptr}};
  f.root_cause =
      "Calico's VXLAN manager has not programmed the remote node's tunnel (no VTEP MAC or "
      "underlay address), so packets to its pods cannot be encapsulated.";
  f.run_on = "this node";
  std::string m = p.mac.empty() ? "<VTEP MAC of that node>" : p.mac;
  if (p.mac.empty())
    f.fix_now.push_back(fmt::format("ip neigh replace {} lladdr {} dev {} nud permanent", p.gateway,
                                    m, n.vxlan_dev));
  f.fix_now.push_back(fmt::format(
      "bridge fdb append {} dev {} dst <underlay IP of the node owning {}> self permanent", m,
      n.vxlan_dev, p.block));
  f.fix_now.emplace_back(kRestartCalico);
  f.persistent = {
      "check that the remote node has spec.ipv4VXLANTunnelAddr and a VXLAN tunnel "
      "MAC (calicoctl get node -o yaml) and that calico-node runs there; IPPool "
      "vxlanMode: Always"};
  return f;
}

Finding mtu_too_big(const Link& vx, const Link& under, const VxlanNames& n) {
  uint32_t want = under.mtu - kVxlanOverhead;
  auto f = Finding::make("vxlan_mtu", Severity::warning, Evidence::configuration);
  f.title = fmt::format("{} MTU {} exceeds underlay {} MTU {} - {}", n.vxlan_dev, vx.mtu,
                        under.name, under.mtu, kVxlanOverhead);
  f.evidence = {{"vxlan_mtu", vx.mtu},
                {"underlay", under.name},
                {"underlay_mtu", under.mtu},
                {"max_vxlan_mtu", want}};
  f.root_cause =
      "Encapsulated full-size packets exceed the underlay MTU, so large packets are "
      "fragmented or black-holed while small ones (ping, SYN) pass.";
  f.run_on = "this node";
  f.fix_now = {fmt::format("ip link set dev {} mtu {}", n.vxlan_dev, want)};
  f.persistent = {
      fmt::format("FelixConfiguration default: spec.vxlanMTU: {} (and calico-config "
                  "veth_mtu: {} for pod interfaces)",
                  want, want)};
  return f;
}

Finding unencapsulated(const std::vector<Route>& routes, const Topology& t, const VxlanNames& n) {
  auto f = Finding::make("pod_routes_unencapsulated", Severity::warning, Evidence::configuration);
  f.title =
      fmt::format("{} pod route(s) leave by {} without encapsulation", routes.size(), n.underlay);
  json rs = json::array();
  for (const auto& r : routes) rs.push_back(route_text(r, t));
  f.evidence = {{"routes", rs}, {"underlay", n.underlay}};
  f.root_cause =
      "Pod traffic to these blocks is routed natively over the underlay (IPPool "
      "vxlanMode: Never or CrossSubnet), which works only if the underlay routes pod "
      "CIDRs.";
  f.run_on = "the cluster (kubectl)";
  f.fix_now = {kCalicoVxlanOn, kRestartCalico};
  f.persistent = {
      "IPPool spec.vxlanMode: Always, unless the underlay routers carry the pod "
      "CIDRs (BGP peering)"};
  return f;
}

Finding port_mismatch(const Link& vx, const VxlanNames& n) {
  auto f = Finding::make("vxlan_port_mismatch", Severity::warning, Evidence::configuration);
  f.title =
      fmt::format("{} uses UDP port {}, vxtrace watched {}", n.vxlan_dev, vx.vxlan->port, n.port);
  f.evidence = {{"device_port", vx.vxlan->port}, {"watched_port", n.port}};
  f.root_cause =
      "vxtrace parses VXLAN only on the port it is told, so per-peer evidence for "
      "this device was not collected.";
  f.run_on = "this node";
  f.fix_now = {
      fmt::format("vxtrace doctor --vxlan-dev {} --vxlan-port {}", n.vxlan_dev, vx.vxlan->port)};
  f.persistent = {"pass --vxlan-port in the vxtrace DaemonSet (Flannel uses 8472)"};
  return f;
}

// A node that sends us VXLAN while we hold no FDB entry for it: our replies to its pods
// cannot be encapsulated (an asymmetric, half-programmed overlay).
std::vector<Finding> senders_without_fdb(const Topology& t, const Link& vx,
                                         const LiveEvidence& live, const VxlanNames& n) {
  std::set<std::string> vteps;
  for (const auto& e : t.fdb)
    if (e.ifindex == vx.ifindex && !e.dst.empty()) vteps.insert(e.dst);
  std::vector<Finding> out;
  for (const auto& p : live.summary.peers) {
    std::string peer = ipv4_string(p.peer);
    if (p.rx_packets == 0 || vteps.contains(peer)) continue;
    auto f = Finding::make("peer_not_encapsulated", Severity::critical, Evidence::live_drops,
                           p.rx_packets);
    f.title = fmt::format("node {} sends VXLAN here, but {} has no FDB entry back to it", peer,
                          n.vxlan_dev);
    f.evidence = {{"peer", peer}, {"rx_packets", p.rx_packets}, {"fdb_vteps", vteps}};
    f.root_cause =
        "Calico programmed the tunnel on the sending node only, so this node's "
        "replies to that node's pods cannot be encapsulated.";
    f.run_on = "this node";
    f.fix_now = {fmt::format("bridge fdb append <VTEP MAC of {}> dev {} dst {} self permanent",
                             peer, n.vxlan_dev, peer),
                 kRestartCalico};
    f.persistent = {
        "make sure calico-node runs on both nodes and both are in a vxlanMode: "
        "Always IPPool"};
    out.push_back(std::move(f));
  }
  return out;
}

uint64_t vxlan_drops(const PeerSummary& p) {
  auto it = p.by_cause.find(Cause::vxlan);
  return it == p.by_cause.end() ? 0 : it->second;
}

// VXLAN_VNI_NOT_FOUND from a peer: the two nodes disagree on the VNI (FelixConfiguration
// vxlanVNI must be the same cluster-wide) or something else sends VXLAN to our port.
Finding vni_mismatch(const PeerSummary& p, uint64_t drops, const Link& vx, const LiveEvidence& live,
                     const VxlanNames& n) {
  auto f = Finding::make("vxlan_vni_mismatch", Severity::critical, Evidence::live_drops, drops);
  f.title = fmt::format(
      "node {} sends VXLAN with a VNI this node does not own ({} dropped, "
      "{} expects VNI {})",
      ipv4_string(p.peer), drops, n.vxlan_dev, vx.vxlan->vni);
  f.evidence = {{"peer", ipv4_string(p.peer)},
                {"drops", drops},
                {"rx_packets", p.rx_packets},
                {"local_vni", vx.vxlan->vni},
                {"reasons", live.vxlan_by_reason}};
  f.root_cause =
      "The sending node's VXLAN device uses another VNI (or another overlay shares "
      "the UDP port), so this node finds no device for the packets and drops them.";
  f.run_on = "node " + ipv4_string(p.peer);
  f.fix_now = {
      fmt::format("ip -d link show {}  # compare the VNI with {} here", n.vxlan_dev, vx.vxlan->vni),
      fmt::format("kubectl patch felixconfiguration default --type merge -p "
                  "'{{\"spec\":{{\"vxlanVNI\":{}}}}}'",
                  vx.vxlan->vni)};
  f.persistent = {
      fmt::format("FelixConfiguration default: spec.vxlanVNI: {} on every node; give "
                  "other overlays (Flannel 8472) their own port",
                  vx.vxlan->vni)};
  return f;
}

}  // namespace

std::vector<PeerProgramming> peer_programming(const Topology& t, const Link& vx) {
  std::vector<PeerProgramming> peers;
  for (const auto& r : t.routes) {
    if (r.oif != vx.ifindex || r.gateway.empty()) continue;
    PeerProgramming p{fmt::format("{}/{}", r.dst, r.plen), r.gateway, "", ""};
    for (const auto& nb : t.neighs)
      if (nb.ifindex == vx.ifindex && nb.ip == r.gateway) p.mac = nb.mac;
    for (const auto& e : t.fdb)
      if (e.ifindex == vx.ifindex && !p.mac.empty() && e.mac == p.mac) p.vtep = e.dst;
    peers.push_back(std::move(p));
  }
  return peers;
}

std::vector<Route> unencapsulated_pod_routes(const Topology& t, const VxlanNames& n) {
  const Link* under = t.link(n.underlay);
  if (!under) return {};
  auto nets = pod_nets(t, t.link(n.vxlan_dev));
  std::vector<Route> out;
  for (const auto& r : t.routes) {
    if (r.oif != under->ifindex || r.plen < kPodNetPrefix || r.gateway.empty()) continue;
    if (nets.contains(addr(r.dst) & mask(kPodNetPrefix))) out.push_back(r);
  }
  return out;
}

NodeMode node_mode(const Topology& t, const VxlanNames& n) {
  const Link* vx = t.link(n.vxlan_dev);
  if (vx && vx->vxlan) return NodeMode::vxlan;
  for (const auto& l : t.links)
    if (l.kind == "ipip" && l.up) return NodeMode::ipip;
  auto routes = unencapsulated_pod_routes(t, n);
  if (routes.empty()) return NodeMode::not_calico_vxlan;
  bool bgp = std::all_of(routes.begin(), routes.end(),
                         [](const Route& r) { return r.protocol == kRtprotBird; });
  return bgp ? NodeMode::bgp : NodeMode::vxlan_missing;
}

CheckResult vxlan_check(const Topology& t, const VxlanNames& n) {
  const Link* vx = t.link(n.vxlan_dev);
  switch (node_mode(t, n)) {
    case NodeMode::ipip:
      return {
          "vxlan_device", "ok", "not a Calico VXLAN node: IPIP mode (an ipip device is up)", {}};
    case NodeMode::bgp:
      return {"vxlan_device",
              "ok",
              "not a Calico VXLAN node: pod blocks routed by BGP (routes proto bird)",
              {}};
    case NodeMode::not_calico_vxlan:
      return {"vxlan_device",
              "ok",
              "not a Calico VXLAN node: no " + n.vxlan_dev + " and no routes to other pods' blocks",
              {}};
    case NodeMode::vxlan_missing: return {"vxlan_device", "warn", n.vxlan_dev + " not found", {}};
    case NodeMode::vxlan: break;
  }
  const Link* under = t.link(n.underlay);
  const auto& v = *vx->vxlan;
  json peers = json::array();
  size_t complete = 0;
  for (const auto& p : peer_programming(t, *vx)) {
    peers.push_back({{"block", p.block},
                     {"gateway", p.gateway},
                     {"mac", p.mac},
                     {"vtep", p.vtep},
                     {"complete", p.complete()}});
    complete += p.complete();
  }
  json data = {
      {"dev", n.vxlan_dev}, {"vni", v.vni},           {"port", v.port},
      {"local", v.local},   {"udpcsum", v.udpcsum},   {"learning", v.learning},
      {"mtu", vx->mtu},     {"underlay", n.underlay}, {"underlay_mtu", under ? under->mtu : 0},
      {"peers", peers}};
  std::string detail = fmt::format(
      "{}: VNI {}, port {}, local {}, udpcsum {}, learning {}, MTU {} (underlay {}), {} of {} "
      "peer blocks fully programmed",
      n.vxlan_dev, v.vni, v.port, v.local.empty() ? "-" : v.local, v.udpcsum ? "on" : "off",
      v.learning ? "on" : "off", vx->mtu, under ? under->mtu : 0, complete, peers.size());
  return {"vxlan_device", "ok", detail, data};
}

std::vector<Finding> vxlan_findings(const Topology& t, const VxlanNames& n,
                                    const LiveEvidence& live) {
  const Link* vx = t.link(n.vxlan_dev);
  if (!vx || !vx->vxlan) {
    // Without the device only the unencapsulated-pod-routes pattern is a fault; IPIP, BGP and
    // a node that is no Calico node at all are healthy without VXLAN, and switching their pool
    // to VXLAN would be harmful advice.
    if (node_mode(t, n) != NodeMode::vxlan_missing) return {};
    return {device_missing(t, n)};
  }
  std::vector<Finding> out;
  for (const auto& p : peer_programming(t, *vx))
    if (!p.complete()) out.push_back(incomplete_peer(p, n));
  const Link* under = t.link(n.underlay);
  if (under && under->mtu > kVxlanOverhead && vx->mtu > under->mtu - kVxlanOverhead)
    out.push_back(mtu_too_big(*vx, *under, n));
  if (auto routes = unencapsulated_pod_routes(t, n); !routes.empty())
    out.push_back(unencapsulated(routes, t, n));
  if (vx->vxlan->port != n.port) out.push_back(port_mismatch(*vx, n));
  if (!live.observed) return out;
  for (auto& f : senders_without_fdb(t, *vx, live, n)) out.push_back(std::move(f));
  // The kernel says so (VXLAN_VNI_NOT_FOUND, 6.3+), or, where it gives no reason, the
  // dropped packets carried a VNI this device does not have.
  const auto& vnis = live.vxlan_dropped_vnis;
  bool foreign_vni =
      std::any_of(vnis.begin(), vnis.end(), [&](uint32_t v) { return v != vx->vxlan->vni; });
  if (live.vxlan_by_reason.contains("VXLAN_VNI_NOT_FOUND") || foreign_vni)
    for (const auto& p : live.summary.peers)
      if (uint64_t d = vxlan_drops(p)) out.push_back(vni_mismatch(p, d, *vx, live, n));
  return out;
}

}  // namespace vxt::doctor
