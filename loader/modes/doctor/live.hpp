// Live evidence: what the core's BPF programs saw during the observation window, reduced
// to what the diagnosis joins with the node checks. Exact totals come from the Tracer's
// summary; the drop events add what counters cannot say (device, outer or inner checksum).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "decode/drop_record.hpp"
#include "decode/summary.hpp"
#include "modes/doctor/conntrack.hpp"
#include "modes/doctor/counters.hpp"

namespace vxt::doctor {

struct PeerChecksum {
  uint64_t outer = 0, inner = 0;            // events: outer UDP checksum vs inner TCP/UDP
  std::map<std::string, uint64_t> reasons;  // UDP_CSUM, TCP_CSUM...
  std::map<std::string, uint64_t> protos;   // of the dropped (inner) flows: tcp, udp, icmp
  // Outer checksum verdicts of the captured packets: pseudo_header_only, mismatch, ...
  std::map<std::string, uint64_t> outer_patterns;
};

struct LiveEvidence {
  bool observed = false;  // false with --duration 0
  double seconds = 0;
  Summary summary;
  uint32_t own_netns = 0;  // the namespace doctor runs in: its rules' totals are this node's
  std::map<std::string, uint64_t> rp_filter_by_dev;                // drops in this netns, by ifname
  std::map<std::string, std::set<std::string>> rp_filter_sources;  // sample inner sources
  std::map<uint32_t, PeerChecksum> checksum_by_peer;  // from events, by peer (network order)
  uint64_t conntrack_drops = 0;  // NETFILTER_DROP by a rule matching INVALID (events)
  // Per rule ("family/table/chain/handle"), the dropped flows as "UDP 7777" (events).
  std::map<std::string, std::map<std::string, uint64_t>> flows_by_rule;
  std::map<std::string, uint64_t> vxlan_by_reason;
  std::set<uint32_t> vxlan_dropped_vnis;  // VNIs of still-encapsulated `vxlan` drops
  uint64_t events_used = 0, events_elsewhere = 0;
  Counters counters_before, counters_after;
  ConntrackInput conntrack_before, conntrack_after;

  uint64_t counter(const std::string& name) const {
    return counter_delta(counters_before, counters_after, name);
  }
};

// "family/table/chain/handle": the key of flows_by_rule.
std::string rule_id(const RuleRecord& r);

// Keeps the drops that belong to this node: its own network namespace, or any namespace
// when the drop was joined to a VXLAN tunnel (a pod's stack dropping a decapsulated packet).
class LiveCollector {
 public:
  explicit LiveCollector(uint32_t own_netns) : own_netns_(own_netns) { ev_.own_netns = own_netns; }
  void add(const DropRecord& d);
  LiveEvidence& evidence() { return ev_; }

 private:
  uint32_t own_netns_;
  LiveEvidence ev_;
};

}  // namespace vxt::doctor
