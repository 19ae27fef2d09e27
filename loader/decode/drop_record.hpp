// A drop as the sinks see it: the BPF event decoded and named.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decode/checksum_verdict.hpp"
#include "decode/rule_record.hpp"

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

}  // namespace vxt
