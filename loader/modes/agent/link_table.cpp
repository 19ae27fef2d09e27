#include "modes/agent/link_table.hpp"

namespace vxt::agent {

void LinkTable::apply(const LinkEvent& e) {
  if (e.present)
    by_index_[e.ifindex] = e.name;
  else
    by_index_.erase(e.ifindex);
}

std::optional<int> LinkTable::ifindex(const std::string& name) const {
  for (const auto& [idx, n] : by_index_)
    if (n == name) return idx;
  return std::nullopt;
}

}  // namespace vxt::agent
