// Prometheus text exposition (format 0.0.4) of everything the agent knows. Pure: the HTTP
// handler gathers a MetricsInput and this renders it, so tests check the text exactly.
//
// Cardinality is bounded: per-peer series exist for at most `max_peers` sending nodes, those
// with the most drops first, then the most packets (so a node with a bad NIC is always among
// them unless more than max_peers nodes drop packets at once). vxtrace_peers says how many
// peers were seen and how many were exported.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "decode/summary.hpp"
#include "evidence/rotating_pcap.hpp"
#include "kernel/drop_reasons.hpp"
#include "modes/agent/device_follower.hpp"
#include "modes/agent/event_stream.hpp"
#include "modes/agent/process_stats.hpp"

namespace vxt::agent {

// (cause, reason) -> drops, from the exact per-CPU counters.
std::map<std::pair<std::string, std::string>, uint64_t> drops_by_cause_reason(
    const RawCounters& c, const DropReasons& reasons);

// --pcap: drops handed to the capture (they passed --filter) = written + write_errors + no_bytes.
struct PcapCounters {
  uint64_t received = 0;
  uint64_t no_bytes = 0;  // nothing captured to write (no network header in the linear data)
  RotatingPcapCounters files;
};

struct MetricsInput {
  std::string version, kernel, node;
  std::vector<std::string> underlay_ips;  // this node's, for vxtrace_node_info
  std::map<std::pair<std::string, std::string>, uint64_t> drops;
  Summary summary;  // peers and vxtrace's own counters
  size_t max_peers = 128;
  std::vector<DeviceState> devices;
  StreamCounters stream;
  std::optional<PcapCounters> pcap;  // only with --pcap
  uint64_t link_resyncs = 0;
  bool ready = false;
  ProcessStats process;
  std::vector<RuleTotal> netfilter_rules;  // read by the loop every few seconds
  size_t max_rules = 50;
};

std::string render_metrics(const MetricsInput& in);

// Label value escaping per the exposition format: backslash, double quote, newline.
std::string escape_label(const std::string& raw);

}  // namespace vxt::agent
