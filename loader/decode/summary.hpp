// Totals from the exact per-CPU BPF counters, shaped for the sinks: typed as the DropRecord is
// (causes, network-order addresses), named only by the sinks.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "decode/drop_record.hpp"
#include "decode/rule_record.hpp"
#include "kernel/drop_reasons.hpp"
#include "kernel/map_readers.hpp"
#include "vxtrace/abi.h"

namespace vxt {

struct PeerSummary {
  uint32_t peer = 0;  // underlay IPv4, network order
  uint64_t rx_packets = 0, rx_bytes = 0, decapsulated = 0, drops = 0;
  double drop_ratio = 0;  // every cause: duplicates freed as TCP_OLD_DATA count too
  std::map<Cause, uint64_t> by_cause;
  // drops of one cause / rx_packets: the checksum ratio is the one that names a bad NIC.
  std::map<Cause, double> ratio_by_cause;
};

struct Summary {
  bool final = false;
  double elapsed_s = 0;
  std::map<Cause, uint64_t> drops_by_cause;
  std::map<std::string, uint64_t> drops_by_reason;  // the kernel's names, as BTF gives them
  std::vector<PeerSummary> peers;                   // most drops first, then most packets
  uint64_t lost_events = 0, events = 0, join_hits = 0, peer_map_full = 0;
  uint64_t malformed = 0;             // packets to the VXLAN port that did not parse as VXLAN
  uint64_t malformed_records = 0;     // ring buffer records that failed validation (userspace)
  uint64_t join_other_cpu = 0;        // joins found in another CPU's array (RPS, remote reads)
  uint64_t events_rate_limited = 0;   // streamed causes over --bpf-event-rate: counted only
  uint64_t events_filtered = 0;       // streamed, then not selected by final cause (userspace)
  uint64_t peer_drops_elsewhere = 0;  // VXLAN dropped in another node's netns on this kernel
  uint64_t underlay_packets = 0, underlay_vxlan_packets = 0;  // seen by tc (GRO batch: once)
  uint64_t overlay_packets = 0;                               // seen by tc on the VXLAN device
  uint64_t drops_parsed = 0;                                  // drops whose packet kfree_skb parsed
  // Netfilter drop events by how their rule was named, or not (rule null): they add up.
  uint64_t netfilter_named_by_trace = 0, netfilter_named_by_counters = 0, netfilter_unnamed = 0;
  std::vector<RuleTotal> netfilter_rules;  // drop rules that dropped, most first
};

Summary summarize(const RawCounters& c, const DropReasons& reasons);

// drop_ratio and ratio_by_cause from the peer's counts (again after they move between causes).
void set_ratios(PeerSummary& p);

}  // namespace vxt
