// Which devices to watch, in the network namespace vxtrace runs in.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "sys/result.hpp"

namespace vxt {

struct Interface {
  std::string name;
  int ifindex = 0;
};

Result<Interface> find_interface(const std::string& name);

// The device of the IPv4 default route, from /proc/net/route (per network namespace).
std::optional<std::string> default_route_device(std::istream& in);
std::optional<std::string> default_route_device();

}  // namespace vxt
