// A drop as the sinks see it: the BPF event decoded and named.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drop_reasons.hpp"
#include "evidence/checksum_verdict.hpp"
#include "kallsyms.hpp"
#include "ring_reader.hpp"
#include "rule_record.hpp"
#include "vxtrace/abi.h"

namespace vxt {

struct FlowRecord {
  std::string src, dst, proto;
  uint16_t sport = 0, dport = 0;  // ICMP: type/code and echo id
  std::string tcp_flags;
};

struct TunnelRecord {
  std::string peer, local;
  uint32_t vni = 0;
  std::string source;   // "outer" (parsed from the dropped packet) or "joined"
  std::string rx_csum;  // "unnecessary" (NIC vouched) | "software" | "unknown"
};

struct DropRecord {
  int64_t ts_unix_ns = 0;
  std::string cause, reason, location, ifname, ct_state, netns_source;
  uint32_t ifindex = 0, netns = 0, len = 0, cpu = 0;
  std::optional<FlowRecord> flow;
  std::optional<TunnelRecord> tunnel;
  std::optional<RuleRecord> rule;  // netfilter drops whose rule is known
  // With --pcap: the packet from its network header, its IPv4 length, and for checksum drops
  // the checksum verdict.
  std::vector<uint8_t> packet;
  uint32_t orig_len = 0;
  std::optional<CsumVerdict> csum;
  std::vector<std::string> stack;  // --stack: "func+0xoff", innermost first
};

class EventDecoder {
 public:
  EventDecoder(const DropReasons& reasons, const Symbolizer& syms, int64_t mono_to_unix_ns,
               uint16_t vxlan_port = 4789);

  DropRecord decode(const vxt_drop_event& e, const DropEvidence& evidence = {}) const;

 private:
  const std::string& location(uint64_t addr) const;  // syms_.symbolize(), cached

  const DropReasons& reasons_;
  const Symbolizer& syms_;
  int64_t mono_to_unix_ns_;
  uint16_t vxlan_port_;
  uint64_t id_;  // tags this decoder's entries in the per-thread location cache
};

// CLOCK_REALTIME - CLOCK_MONOTONIC now: turns bpf_ktime_get_ns() into wall time.
int64_t monotonic_to_unix_offset_ns();

}  // namespace vxt
