// nftables' trace messages (NFNLGRP_NFTRACE) for the packets vxtrace's trace table marked,
// reduced to the verdicts that dropped them: the rule (or base chain policy) and the packet's
// identity, to be joined to the drop event the same packet makes a moment later.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sys/result.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace vxt::nf {

// What tells one packet from another: the IPv4 header's addresses, protocol and id, and the
// ports (ICMP: type << 8 | code, and the echo id), as the drop event's flow has them.
struct PacketKey {
  uint32_t src = 0, dst = 0;  // network order
  uint8_t proto = 0;
  uint16_t ip_id = 0, sport = 0, dport = 0;  // host order
  auto operator<=>(const PacketKey&) const = default;
};

struct DropTrace {
  PacketKey packet;
  std::string family, table, chain;
  uint64_t handle = 0;  // 0: the chain's policy dropped it
};

// One trace message: the packet's trace id, its headers when this message carries them (the
// first of each chain), and the verdict when it dropped the packet.
struct TraceMessage {
  uint32_t id = 0;
  std::optional<PacketKey> packet;
  std::optional<DropTrace> drop;  // its `packet` not yet filled in
};
std::optional<TraceMessage> parse_trace(const nlmsghdr* nlh);

class TraceListener {
 public:
  // Subscribes in the calling thread's network namespace, with a large receive buffer.
  static Result<std::unique_ptr<TraceListener>> open();
  ~TraceListener();
  TraceListener(const TraceListener&) = delete;
  TraceListener& operator=(const TraceListener&) = delete;

  // Every drop trace queued now, oldest first. `lost` is set when the kernel dropped trace
  // messages for lack of buffer since the last read (ENOBUFS).
  std::vector<DropTrace> read(bool& lost);

 private:
  static constexpr size_t kPacketsKept = 4096;  // packets in flight through the hooks
  explicit TraceListener(mnl_socket* nl) : nl_(nl) {}
  mnl_socket* nl_;
  std::map<uint32_t, PacketKey> packets_;  // by trace id: the headers a later verdict lacks
};

}  // namespace vxt::nf
