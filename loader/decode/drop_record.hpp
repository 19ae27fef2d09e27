// A drop as the sinks see it: the BPF event decoded into numbers and enums, named by the sinks.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decode/checksum_verdict.hpp"
#include "decode/rule_record.hpp"
#include "vxtrace/abi.h"

namespace vxt {

// The ABI's numbers, typed: a misspelt cause does not compile, and a record carries no string
// until a sink names it (record_names.hpp).
enum class Cause : uint8_t {
  other = VXT_CAUSE_OTHER,
  checksum = VXT_CAUSE_CHECKSUM,
  rp_filter = VXT_CAUSE_RP_FILTER,
  conntrack = VXT_CAUSE_CONNTRACK,
  netfilter = VXT_CAUSE_NETFILTER,
  vxlan = VXT_CAUSE_VXLAN,
  background = VXT_CAUSE_BACKGROUND,
};

enum class CtState : uint8_t {
  none = VXT_CT_NONE,  // no entry: INVALID, table full, or conntrack not in the path
  untracked = VXT_CT_UNTRACKED,
  unconfirmed = VXT_CT_NEW,  // named "new", as conntrack -L says
  confirmed = VXT_CT_CONFIRMED,
  unknown = VXT_CT_UNKNOWN,  // a kernel without conntrack fields
};

enum class NetnsSource : uint8_t {
  unknown = VXT_NETNS_UNKNOWN,
  device = VXT_NETNS_DEVICE,
  socket = VXT_NETNS_SOCKET,
  task = VXT_NETNS_TASK,
};

enum class TunnelSource : uint8_t {
  outer = VXT_TUNNEL_OUTER,    // parsed from the dropped packet itself
  joined = VXT_TUNNEL_JOINED,  // the inner packet joined to what tc ingress saw
};

enum class RxCsum : uint8_t {
  unknown = VXT_RX_CSUM_UNKNOWN,
  unnecessary = VXT_RX_CSUM_UNNECESSARY,  // the NIC vouched for it
  software = VXT_RX_CSUM_SOFTWARE,        // the kernel verifies
};

struct FlowRecord {
  uint32_t src = 0, dst = 0;      // IPv4, network order
  uint8_t proto = 0;              // IPPROTO_*
  uint16_t sport = 0, dport = 0;  // host order; ICMP: type << 8 | code, and the echo id
  uint8_t tcp_flags = 0;          // TCP only
  uint16_t ip_id = 0;             // host order: tells a flow's packets apart (rule tracing)
};

// Flags are shown for TCP only, and only when some are set (a flow without them has no key).
inline bool has_tcp_flags(const FlowRecord& f) {
  return f.proto == IPPROTO_TCP && f.tcp_flags != 0;
}

struct TunnelRecord {
  uint32_t peer = 0, local = 0;  // IPv4, network order
  uint32_t vni = 0;
  TunnelSource source = TunnelSource::outer;
  RxCsum rx_csum = RxCsum::unknown;
};

struct DropRecord {
  int64_t ts_unix_ns = 0;
  Cause cause = Cause::other;
  CtState ct_state = CtState::none;
  NetnsSource netns_source = NetnsSource::unknown;
  std::string reason, location, ifname;  // the kernel's reason name, "func+0xoff", escaped bytes
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
