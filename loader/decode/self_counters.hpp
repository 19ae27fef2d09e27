// vxtrace's counters about itself (events, losses, joins, malformed input), as the summary line
// and /metrics publish them: a new one is a row here, a Summary field, and in abi.h where the
// kernel counts it; the JSON sink and the exposition read this table.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "decode/summary.hpp"
#include "vxtrace/abi.h"

namespace vxt {

struct SelfCounter {
  uint64_t Summary::*field;
  int stat;                 // the VXT_STAT_* slot it is read from; -1: counted in userspace
  std::string_view json;    // key in the summary line
  std::string_view metric;  // Prometheus counter
  std::string_view help;
};

inline constexpr std::array<SelfCounter, 17> kSelfCounters{{
    {&Summary::lost_events, VXT_STAT_LOST_EVENTS, "lost_events", "vxtrace_lost_events_total",
     "Drop events the ring buffer had no room for (totals above stay exact)."},
    {&Summary::events_rate_limited, VXT_STAT_EVENTS_LIMITED, "events_rate_limited",
     "vxtrace_events_rate_limited_total",
     "Drop events not streamed because of --bpf-event-rate (the drops are still counted)."},
    {&Summary::events_filtered, -1, "events_filtered", "vxtrace_events_filtered_total",
     "Drop events streamed from the kernel that --causes did not select once their final cause "
     "was known (netfilter drops streamed in case their rule made them conntrack's): not shown, "
     "the drops still counted."},
    {&Summary::events, VXT_STAT_EVENTS, "events", "vxtrace_events_total",
     "Drop events submitted to the ring buffer."},
    {&Summary::join_hits, VXT_STAT_JOIN_HITS, "joined", "vxtrace_joined_drops_total",
     "Drops after decapsulation joined to their tunnel."},
    {&Summary::join_other_cpu, VXT_STAT_JOIN_OTHER_CPU, "joined_other_cpu",
     "vxtrace_joins_other_cpu_total",
     "Tunnel joins found in another CPU's join array (receive and drop on different CPUs)."},
    {&Summary::malformed, VXT_STAT_TC_MALFORMED, "malformed_vxlan",
     "vxtrace_malformed_vxlan_packets_total",
     "Packets to the VXLAN port that did not parse as VXLAN."},
    {&Summary::malformed_records, -1, "malformed_records", "vxtrace_malformed_records_total",
     "Ring buffer records that failed validation (never decoded)."},
    {&Summary::peer_drops_elsewhere, VXT_STAT_PEER_DROPS_ELSEWHERE, "peer_drops_elsewhere",
     "vxtrace_peer_drops_elsewhere_total",
     "VXLAN packets dropped in another node's network namespace on this kernel (kind, netns "
     "labs): not counted against the sending peer."},
    {&Summary::peer_map_full, VXT_STAT_PEER_MAP_FULL, "peer_map_full",
     "vxtrace_peer_map_full_total",
     "Packets of a new peer not counted per peer: the BPF peer map (4096) was full."},
    {&Summary::underlay_packets, VXT_STAT_TC_UNDERLAY_PKTS, "underlay_packets",
     "vxtrace_underlay_packets_total",
     "Packets vxtrace's tc program saw on the underlay devices, VXLAN or not (a GRO batch counts "
     "once): nonzero means it is attached where the traffic is."},
    {&Summary::underlay_vxlan_packets, VXT_STAT_TC_VXLAN_PKTS, "underlay_vxlan_packets",
     "vxtrace_underlay_vxlan_packets_total",
     "Of those, VXLAN to vxtrace's port (a GRO batch counts once)."},
    {&Summary::overlay_packets, VXT_STAT_TC_OVERLAY_PKTS, "overlay_packets",
     "vxtrace_overlay_packets_total",
     "Packets vxtrace's tc program saw on the VXLAN device (a GRO batch counts once)."},
    {&Summary::drops_parsed, VXT_STAT_DROPS_PARSED, "drops_parsed", "vxtrace_drops_parsed_total",
     "Drops whose packet the kfree_skb program parsed for its flow and tunnel."},
    {&Summary::netfilter_named_by_trace, -1, "netfilter_named_by_trace",
     "vxtrace_netfilter_named_by_trace_total",
     "Netfilter drop events whose rule an nftables trace of the packet named."},
    {&Summary::netfilter_named_by_counters, -1, "netfilter_named_by_counters",
     "vxtrace_netfilter_named_by_counters_total",
     "Netfilter drop events whose rule the counters proved (the only rule that rose, by exactly "
     "the untraced drops)."},
    {&Summary::netfilter_unnamed, -1, "netfilter_unnamed", "vxtrace_netfilter_unnamed_total",
     "Netfilter drop events whose rule could not be named for certain (rule null)."},
}};

}  // namespace vxt
