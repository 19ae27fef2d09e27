// This node's IPv4 addresses, as the BPF program needs them to tell a drop addressed to this
// node from one inside another node's namespace on the same kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace vxt {

// The IPv4 addresses of this network namespace (network byte order, sorted, unique), without
// loopback and kube-proxy's IPVS dummy (which carries every Service IP, none of them a
// tunnel endpoint). nullopt when they cannot be read or are more than `max`.
std::optional<std::vector<uint32_t>> local_ipv4_addresses(size_t max);

}  // namespace vxt
