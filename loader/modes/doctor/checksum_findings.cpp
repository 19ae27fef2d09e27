#include <fmt/format.h>

#include <cmath>

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"
#include "modes/doctor/findings.hpp"
#include "modes/doctor/kernel_version.hpp"

namespace vxt::doctor {
namespace {

uint64_t checksum_drops(const PeerSummary& p) {
  auto it = p.by_cause.find(Cause::checksum);
  return it == p.by_cause.end() ? 0 : it->second;
}

// The exact per-peer total, split between outer and inner by what the events showed.
std::pair<uint64_t, uint64_t> split(uint64_t total, const LiveEvidence& live, uint32_t peer) {
  auto it = live.checksum_by_peer.find(peer);
  if (it == live.checksum_by_peer.end() || it->second.outer + it->second.inner == 0)
    return {total, 0};  // no events: the outer checksum is the one checked on this node
  double outer_share = static_cast<double>(it->second.outer) /
                       static_cast<double>(it->second.outer + it->second.inner);
  auto outer = static_cast<uint64_t>(std::llround(static_cast<double>(total) * outer_share));
  return {outer, total - outer};
}

// Both per-peer findings: which checksums the peer gets wrong, its numbers, fixed on that node.
Finding peer_finding(std::string id, const std::string& bad, const PeerSummary& p, uint64_t drops,
                     const LiveEvidence& live) {
  auto f = Finding::make(std::move(id), Severity::critical, Evidence::live_drops, drops);
  double ratio = p.rx_packets ? static_cast<double>(drops) / static_cast<double>(p.rx_packets) : 0;
  std::string peer = ipv4_string(p.peer);
  f.title = fmt::format("node {} sends {} of its VXLAN packets with bad {} checksums", peer,
                        percent(ratio), bad);
  json reasons = json::object();
  if (auto it = live.checksum_by_peer.find(p.peer); it != live.checksum_by_peer.end())
    reasons = it->second.reasons;
  f.evidence = {{"peer", peer},        {"rx_packets", p.rx_packets}, {"checksum_drops", drops},
                {"drop_ratio", ratio}, {"reasons", reasons},         {"window_s", live.seconds}};
  f.run_on = "node " + peer;
  return f;
}

const char* kChecksumOffloadBroken =
    "kubectl patch felixconfiguration default --type merge -p "
    "'{\"spec\":{\"featureDetectOverride\":\"ChecksumOffloadBroken=true\"}}'";

std::string systemd_unit(const std::string& dev, const std::string& features) {
  return fmt::format(
      "systemd unit /etc/systemd/system/vxlan-offloads.service: [Unit] After=network-online.target "
      "[Service] Type=oneshot ExecStart=/usr/sbin/ethtool -K {} {} [Install] "
      "WantedBy=multi-user.target (or a DaemonSet running the same ethtool on every node)",
      dev, features);
}

Finding outer_peer(const PeerSummary& p, uint64_t drops, const LiveEvidence& live,
                   const DeviceNames& n) {
  auto f = peer_finding("outer_checksum_peer", "outer UDP", p, drops, live);
  std::string peer = ipv4_string(p.peer);
  f.evidence["kernel_Udp_InCsumErrors"] = live.counter(kUdpCsumErrors);
  f.evidence["underlay_name_assumed"] = n.underlay;
  f.root_cause = fmt::format(
      "The NIC of node {} computes the outer UDP checksum of VXLAN packets wrong (tunnel "
      "checksum offload tx-udp_tnl-csum-segmentation with a buggy driver/firmware, e.g. i40e on "
      "X710), and this node's UDP stack drops them.",
      peer);
  const std::string off = "tx-udp_tnl-csum-segmentation off tx-udp_tnl-segmentation off";
  f.fix_now = {fmt::format("ethtool -K {} {}", n.underlay, off)};
  // The captured packets tell an offload that never ran from bytes changed on the way.
  auto it = live.checksum_by_peer.find(p.peer);
  if (it != live.checksum_by_peer.end() && !it->second.outer_patterns.empty()) {
    const auto& pat = it->second.outer_patterns;
    uint64_t seen = 0, unfinished = 0, changed = 0;
    for (const auto& [name, k] : pat) seen += k;
    if (auto u = pat.find("pseudo_header_only"); u != pat.end()) unfinished = u->second;
    if (auto m = pat.find("mismatch"); m != pat.end()) changed = m->second;
    f.evidence["outer_checksum_patterns"] = pat;
    if (unfinished * 2 > seen) {
      f.root_cause = fmt::format(
          "Node {}'s NIC never completes the outer UDP checksum: {} of {} captured packets carry "
          "only the pseudo-header sum that CHECKSUM_PARTIAL leaves for the NIC to finish, so its "
          "tunnel checksum offload does not work for these packets.",
          peer, unfinished, seen);
    } else if (changed * 2 > seen) {
      // Not an unfinished offload: turning the offload off may not help; find what corrupts.
      f.root_cause = fmt::format(
          "Packets from node {} are corrupted after their outer UDP checksum was computed: {} of "
          "{} captured packets have a checksum that is neither unfinished nor zero but does not "
          "match their bytes (the sender's NIC or firmware, or a device on the path).",
          peer, changed, seen);
      f.fix_now.insert(f.fix_now.begin(),
                       fmt::format("ethtool -S {} | grep -iE 'err|crc'  # on node {}, then the "
                                   "switch ports between the nodes",
                                   n.underlay, peer));
    }
  }
  f.persistent = {fmt::format("update the NIC firmware/driver of {} (`ethtool -i {}` there shows "
                              "driver, version and firmware)",
                              peer, n.underlay),
                  systemd_unit(n.underlay, off)};
  return f;
}

// "TCP", "UDP" or "TCP/UDP": which inner protocol the events showed failing.
std::string inner_protocols(const LiveEvidence& live, uint32_t peer) {
  auto it = live.checksum_by_peer.find(peer);
  // The flows' protocol, which kernels without drop reasons (< 5.17) also give.
  bool tcp = it != live.checksum_by_peer.end() && it->second.protos.contains("tcp");
  bool udp = it != live.checksum_by_peer.end() && it->second.protos.contains("udp");
  return tcp == udp ? "TCP/UDP" : tcp ? "TCP" : "UDP";
}

Finding inner_peer(const PeerSummary& p, uint64_t drops, const LiveEvidence& live,
                   const DeviceNames& n) {
  auto f =
      peer_finding("inner_checksum_peer", "inner " + inner_protocols(live, p.peer), p, drops, live);
  std::string peer = ipv4_string(p.peer);
  f.root_cause = fmt::format(
      "Node {} leaves the inner checksum to tx-checksum-ip-generic on {} and gets it wrong "
      "(the MASQUERADE bug fixed in Linux {}), so the receiving pod's stack drops the packets.",
      peer, n.vxlan_dev, inner_csum_fix_versions());
  f.fix_now = {fmt::format("ethtool -K {} tx-checksum-ip-generic off", n.vxlan_dev)};
  f.persistent = {
      fmt::format("upgrade the kernel of {} to {} or later", peer, inner_csum_fix_versions()),
      std::string(kChecksumOffloadBroken) +
          " (Calico >= 3.20 then keeps the offload off on every node)"};
  return f;
}

Finding local_risky_nic(const DeviceOffloads& d, const std::vector<std::string>& on) {
  auto f = Finding::make("local_tunnel_offload_risk", Severity::warning, Evidence::configuration);
  f.title = fmt::format("this node's {} ({} firmware {}) offloads the outer VXLAN checksum", d.dev,
                        d.driver->driver, d.driver->firmware);
  f.evidence = to_json(d);
  f.root_cause = fmt::format(
      "{} has published outer-checksum bugs for VXLAN on some firmware; peers then drop 1-5 % of "
      "this node's packets (run doctor on a peer to measure it).",
      d.driver->driver);
  f.run_on = "this node";
  std::string off = fmt::format("{} off", fmt::join(on, " off "));
  f.fix_now = {fmt::format("ethtool -K {} {}", d.dev, off)};
  f.persistent = {"update the NIC firmware to the vendor's current release",
                  systemd_unit(d.dev, off)};
  return f;
}

Finding local_kernel(const std::string& release, const DeviceNames& n) {
  auto f = Finding::make("kernel_inner_checksum_bug", Severity::warning, Evidence::configuration);
  f.title = fmt::format(
      "kernel {} predates the inner-checksum fix and {} has "
      "tx-checksum-ip-generic on",
      release, n.vxlan_dev);
  f.evidence = {{"release", release},
                {"fixed_in", inner_csum_fix_versions()},
                {"vxlan_dev", n.vxlan_dev},
                {"tx-checksum-ip-generic", true}};
  f.root_cause =
      "This kernel can send MASQUERADEd Service packets with a wrong inner TCP/UDP "
      "checksum, which peers' pods drop (the 1 s or 63 s connection delays to Services over "
      "Calico VXLAN).";
  f.run_on = "this node";
  f.fix_now = {fmt::format("ethtool -K {} tx-checksum-ip-generic off", n.vxlan_dev)};
  f.persistent = {fmt::format("upgrade the kernel to {} or later", inner_csum_fix_versions()),
                  kChecksumOffloadBroken};
  return f;
}

}  // namespace

std::vector<Finding> checksum_findings(const LiveEvidence& live,
                                       const std::vector<DeviceOffloads>& local,
                                       const std::string& kernel_release, const DeviceNames& n) {
  std::vector<Finding> out;
  for (const auto& p : live.summary.peers) {
    auto [outer, inner] = split(checksum_drops(p), live, p.peer);
    if (outer) out.push_back(outer_peer(p, outer, live, n));
    if (inner) out.push_back(inner_peer(p, inner, live, n));
  }
  for (const auto& d : local) {
    auto on = outer_csum_offloads_on(d);
    if (d.dev == n.underlay && d.driver && driver_known_risky(*d.driver) && !on.empty())
      out.push_back(local_risky_nic(d, on));
    auto v = parse_kernel_release(kernel_release);
    if (d.dev == n.vxlan_dev && v && !has_inner_csum_fix(*v) && feature_on(d, kInnerCsum))
      out.push_back(local_kernel(kernel_release, n));
  }
  return out;
}

}  // namespace vxt::doctor
