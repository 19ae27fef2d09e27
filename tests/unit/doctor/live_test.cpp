#include "modes/doctor/live.hpp"

#include <gtest/gtest.h>

#include "ipv4.hpp"

namespace vxt::doctor {
namespace {

DropRecord drop(Cause cause, const char* reason, uint32_t netns, const char* ifname) {
  DropRecord d;
  d.cause = cause;
  d.reason = reason;
  d.netns = netns;
  d.ifname = ifname;
  return d;
}

TEST(LiveCollector, KeepsOwnNamespaceAndTunnelJoinedDropsOnly) {
  LiveCollector c(42);
  c.add(drop(Cause::rp_filter, "IP_RPFILTER", 42, "vxlan.calico"));
  c.add(drop(Cause::rp_filter, "IP_RPFILTER", 7, "eth0"));  // another lab's node: not ours
  auto inner = drop(Cause::checksum, "TCP_CSUM", 99, "");   // our pod's namespace, joined
  inner.tunnel = TunnelRecord{test::ip("192.0.2.1"), test::ip("192.0.2.2"), 4096,
                              TunnelSource::joined, RxCsum::software};
  c.add(inner);
  auto outer = drop(Cause::checksum, "UDP_CSUM", 42, "eth0");
  outer.tunnel = TunnelRecord{test::ip("192.0.2.1"), test::ip("192.0.2.2"), 4096,
                              TunnelSource::outer, RxCsum::software};
  c.add(outer);
  c.add(drop(Cause::conntrack, "NETFILTER_DROP", 42, "vxlan.calico"));
  const auto& ev = c.evidence();
  EXPECT_EQ(ev.rp_filter_by_dev.at("vxlan.calico"), 1u);
  EXPECT_EQ(ev.rp_filter_by_dev.count("eth0"), 0u);
  EXPECT_EQ(ev.checksum_by_peer.at(test::ip("192.0.2.1")).inner, 1u);
  EXPECT_EQ(ev.checksum_by_peer.at(test::ip("192.0.2.1")).outer, 1u);
  EXPECT_EQ(ev.conntrack_drops, 1u);
  EXPECT_EQ(ev.events_elsewhere, 1u);
}

}  // namespace
}  // namespace vxt::doctor
