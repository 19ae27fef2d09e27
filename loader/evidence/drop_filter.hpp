// Which drops the trace streams: --filter on the packet as dropped, --filter-inner on the packet
// inside its tunnel (both, when both are given). The counters never see this.
#pragma once

#include <memory>
#include <string>

#include "decode/drop_record.hpp"
#include "evidence/packet_filter.hpp"

namespace vxt {

class DropFilter {
 public:
  // Empty expressions filter nothing. A bad one is an error naming its flag.
  static Result<DropFilter> compile(const std::string& outer, const std::string& inner,
                                    uint16_t vxlan_port);
  bool active() const { return outer_ || inner_; }
  bool pass(const DropRecord& d) const;

 private:
  std::shared_ptr<PacketFilter> outer_, inner_;
  uint16_t vxlan_port_ = 4789;
};

}  // namespace vxt
