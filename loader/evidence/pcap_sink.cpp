#include "evidence/pcap_sink.hpp"

#include <fmt/format.h>

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"

namespace vxt {

std::string pcap_comment(const DropRecord& d, const std::string& node) {
  std::string c =
      fmt::format("vxtrace cause={} reason={} location={} node={} netns={} dev={}", name(d.cause),
                  d.reason, d.location, node, d.netns, d.ifname.empty() ? "-" : d.ifname);
  if (d.tunnel)
    c += fmt::format(" tunnel={}>{} vni={} ({})", ipv4_string(d.tunnel->peer),
                     ipv4_string(d.tunnel->local), d.tunnel->vni, name(d.tunnel->source));
  if (d.rule) c += fmt::format(" rule={} {}", d.rule->family, rule_label(*d.rule));
  if (d.csum && d.csum->verified)
    c += fmt::format(" csum={} {} wire 0x{:04x} correct 0x{:04x} ({})", d.csum->layer,
                     d.csum->proto, d.csum->wire, d.csum->correct, d.csum->pattern);
  else if (d.csum)
    c += " csum=unverified (" + d.csum->why + ")";
  return c;
}

std::string pcap_interface(const DropRecord& d) {
  return (d.ifname.empty() ? std::string("?") : d.ifname) + "@netns:" + std::to_string(d.netns);
}

void PcapSink::drop(const DropRecord& d) {
  if (d.packet.empty() || failed_) return;
  if (!w_->write(pcap_interface(d), d.ts_unix_ns, d.packet, d.orig_len, pcap_comment(d, node_)))
    failed_ = true;
}

}  // namespace vxt
