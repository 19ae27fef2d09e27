#include "modes/doctor/live.hpp"

#include <algorithm>
#include <cctype>

namespace vxt::doctor {
namespace {

constexpr size_t kMaxSamples = 5;

}  // namespace

std::string rule_id(const RuleRecord& r) {
  return r.family + "/" + r.table + "/" + r.chain + "/" + std::to_string(r.handle);
}

void LiveCollector::add(const DropRecord& d) {
  bool tunnel = d.tunnel && !d.tunnel->peer.empty();
  if (own_netns_ && d.netns != own_netns_ && !tunnel) {
    ++ev_.events_elsewhere;
    return;
  }
  ++ev_.events_used;
  if (d.cause == "checksum" && tunnel) {
    auto& p = ev_.checksum_by_peer[d.tunnel->peer];
    (d.tunnel->source == "outer" ? p.outer : p.inner) += 1;
    p.reasons[d.reason] += 1;
    if (d.flow) p.protos[d.flow->proto] += 1;
    if (d.csum && d.csum->verified && d.csum->layer == "outer" && d.csum->proto == "udp")
      p.outer_patterns[d.csum->pattern] += 1;
  } else if (d.cause == "rp_filter") {
    std::string dev = d.ifname.empty() ? "?" : d.ifname;
    ev_.rp_filter_by_dev[dev] += 1;
    auto& samples = ev_.rp_filter_sources[dev];
    if (d.flow && samples.size() < kMaxSamples) samples.insert(d.flow->src);
  } else if (d.cause == "conntrack") {
    ++ev_.conntrack_drops;
  } else if (d.cause == "vxlan") {
    ev_.vxlan_by_reason[d.reason] += 1;
    if (tunnel && d.tunnel->source == "outer") ev_.vxlan_dropped_vnis.insert(d.tunnel->vni);
  }
  if (d.rule && d.flow) {
    auto id = rule_id(*d.rule);
    std::string proto = d.flow->proto;
    std::transform(proto.begin(), proto.end(), proto.begin(), ::toupper);
    bool ports = d.flow->proto == "tcp" || d.flow->proto == "udp";
    ev_.flows_by_rule[id][ports ? proto + " " + std::to_string(d.flow->dport) : proto] += 1;
  }
}

}  // namespace vxt::doctor
