// Reads vxtrace's per-CPU counter maps, summed over CPUs.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "vxtrace/abi.h"

namespace vxt {

// Counters as read from the maps, already summed over CPUs.
struct RawCounters {
  std::vector<uint64_t> drop_slots =
      std::vector<uint64_t>(static_cast<size_t>(VXT_DROP_COUNT_SLOTS));
  std::map<uint32_t, vxt_peer_rx> peer_rx;                       // peer (network order)
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> peer_drops;  // (peer, cause)
  std::array<uint64_t, VXT_STAT_COUNT> stats{};
};

// Adds a per-CPU u64 array into `out` (one slot per key, out.size() keys).
void read_percpu_array(int fd, std::span<uint64_t> out);

struct PeerMaps {
  int slots;           // per-CPU direct-mapped peer_slots (packets and drops)
  int rx_overflow;     // per-CPU hash: packets of peers whose slot was taken
  int drops_overflow;  // per-CPU hash: their drops, keyed by vxt_peer_drop_key
};

struct PeerCounters {
  std::map<uint32_t, vxt_peer_rx>& rx;                       // peer (network order)
  std::map<std::pair<uint32_t, uint32_t>, uint64_t>& drops;  // (peer, cause)
};

// Adds every peer's counters, summed over CPUs and over the slot array and the hashes.
void read_peers(const PeerMaps& fds, PeerCounters& out);

}  // namespace vxt
