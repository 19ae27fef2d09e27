#include "sys/interfaces.hpp"

#include <net/if.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace vxt {

Result<Interface> find_interface(const std::string& name) {
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) return errno_error("no interface '" + name + "' in this network namespace", errno);
  return Interface{name, static_cast<int>(idx)};
}

std::optional<std::string> default_route_device(std::istream& in) {
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    if (!(f >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    if (dest == "00000000" && mask == "00000000") return iface;
  }
  return std::nullopt;
}

std::optional<std::string> default_route_device() {
  std::ifstream in("/proc/net/route");
  return default_route_device(in);
}

}  // namespace vxt
