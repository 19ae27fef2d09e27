// The netfilter rule that dropped a packet, as events and the summary name it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vxt {

struct RuleRecord {
  std::string family, table, chain;
  uint64_t handle = 0;
  std::optional<std::string> comment;
  bool ct_invalid = false;  // matches conntrack state INVALID: conntrack's verdict
};

struct RuleTotal {
  RuleRecord rule;
  uint64_t drops = 0;  // its counter's rise since vxtrace started watching the namespace
};

}  // namespace vxt
