#include "evidence/drop_filter.hpp"

namespace vxt {

Result<DropFilter> DropFilter::compile(const std::string& outer, const std::string& inner,
                                       uint16_t vxlan_port) {
  DropFilter f;
  f.vxlan_port_ = vxlan_port;
  if (!outer.empty()) {
    auto p = PacketFilter::compile("--filter", outer);
    if (!p) return p.error();
    f.outer_ = std::move(*p);
  }
  if (!inner.empty()) {
    auto p = PacketFilter::compile("--filter-inner", inner);
    if (!p) return p.error();
    f.inner_ = std::move(*p);
  }
  return f;
}

bool DropFilter::pass(const DropRecord& d) const {
  if (outer_ && !outer_->matches(d.packet, d.orig_len)) return false;
  if (!inner_) return true;
  // Still encapsulated: the packet inside; joined: the drop is of the inner packet itself.
  std::span<const uint8_t> inner;
  if (d.tunnel && d.tunnel->source == TunnelSource::outer)
    inner = vxlan_inner(d.packet, vxlan_port_);
  else if (d.tunnel)
    inner = d.packet;
  return inner_->matches(inner, static_cast<uint32_t>(inner.size()));
}

}  // namespace vxt
