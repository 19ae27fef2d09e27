// This node's IPv4 addresses on its underlay devices: what other nodes' agents see as
// peer="<ip>", exported so PromQL can name the node behind a peer address.
#pragma once

#include <string>
#include <vector>

namespace vxt::agent {

std::vector<std::string> ipv4_addresses(const std::vector<std::string>& devices);

}  // namespace vxt::agent
