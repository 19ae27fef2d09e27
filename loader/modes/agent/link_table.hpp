// The node's links by name, as netlink reports them. Pure state, so the follower's logic
// is testable without a kernel: events are applied in the order they arrived.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace vxt::agent {

struct LinkEvent {
  bool present = true;  // RTM_NEWLINK (created, renamed, changed) or RTM_DELLINK
  int ifindex = 0;
  std::string name;
};

class LinkTable {
 public:
  void apply(const LinkEvent& e);
  void clear() { by_index_.clear(); }
  std::optional<int> ifindex(const std::string& name) const;
  size_t size() const { return by_index_.size(); }

 private:
  std::map<int, std::string> by_index_;  // a rename keeps the ifindex and changes the name
};

}  // namespace vxt::agent
