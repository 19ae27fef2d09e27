#include "modes/doctor/live.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cctype>

#include "decode/net_format.hpp"

namespace vxt::doctor {
namespace {

constexpr size_t kMaxSamples = 5;

}  // namespace

std::string rule_id(const RuleRecord& r) {
  return r.family + "/" + r.table + "/" + r.chain + "/" + std::to_string(r.handle);
}

void LiveCollector::add(const DropRecord& d) {
  bool tunnel = d.tunnel && d.tunnel->peer != 0;
  if (own_netns_ && d.netns != own_netns_ && !tunnel) {
    ++ev_.events_elsewhere;
    return;
  }
  ++ev_.events_used;
  if (d.cause == Cause::checksum && tunnel) {
    auto& p = ev_.checksum_by_peer[d.tunnel->peer];
    (d.tunnel->source == TunnelSource::outer ? p.outer : p.inner) += 1;
    p.reasons[d.reason] += 1;
    if (d.flow) p.protos[std::string(proto_name(d.flow->proto))] += 1;
    if (d.csum && d.csum->verified && d.csum->layer == "outer" && d.csum->proto == "udp")
      p.outer_patterns[d.csum->pattern] += 1;
  } else if (d.cause == Cause::rp_filter) {
    std::string dev = d.ifname.empty() ? "?" : d.ifname;
    ev_.rp_filter_by_dev[dev] += 1;
    auto& samples = ev_.rp_filter_sources[dev];
    if (d.flow && samples.size() < kMaxSamples) samples.insert(ipv4_string(d.flow->src));
  } else if (d.cause == Cause::conntrack) {
    ++ev_.conntrack_drops;
  } else if (d.cause == Cause::vxlan) {
    ev_.vxlan_by_reason[d.reason] += 1;
    if (tunnel && d.tunnel->source == TunnelSource::outer)
      ev_.vxlan_dropped_vnis.insert(d.tunnel->vni);
  }
  if (d.rule && d.flow) {
    auto id = rule_id(*d.rule);
    std::string proto(proto_name(d.flow->proto));
    std::transform(proto.begin(), proto.end(), proto.begin(), ::toupper);
    bool ports = d.flow->proto == IPPROTO_TCP || d.flow->proto == IPPROTO_UDP;
    ev_.flows_by_rule[id][ports ? proto + " " + std::to_string(d.flow->dport) : proto] += 1;
  }
}

}  // namespace vxt::doctor
