// Reads vxtrace's per-CPU counter maps, summed over CPUs.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "vxtrace/abi.h"

namespace vxt {

// Adds a per-CPU u64 array into `out` (one slot per key, out.size() keys).
void read_percpu_array(int fd, std::span<uint64_t> out);

// Adds every peer's counters from the direct-mapped per-CPU peer_slots array and the
// per-CPU peer_rx overflow hash into `out`, keyed by peer address (network order).
void read_peer_rx(int slots_fd, int overflow_fd, std::map<uint32_t, vxt_peer_rx>& out);

// Adds a per-CPU hash of u64 values keyed by vxt_peer_drop_key into `out`.
void read_peer_drops(int fd, std::map<std::pair<uint32_t, uint32_t>, uint64_t>& out);

}  // namespace vxt
