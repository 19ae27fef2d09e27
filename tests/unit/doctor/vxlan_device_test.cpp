#include "modes/doctor/vxlan_device.hpp"

#include <gtest/gtest.h>

#include "ipv4.hpp"

namespace vxt::doctor {
namespace {

// Node b of the lab, as rtnetlink reported it: eth0 1500, vxlan.calico 1450, two peers.
Topology lab_node_b() {
  Topology t;
  t.links = {
      {1, "lo", "", 65536, true, {}},
      {2, "eth0", "veth", 1500, true, {}},
      {3, "vxlan.calico", "vxlan", 1450, true, VxlanInfo{4096, 4789, "192.0.2.2", true, false, 2}},
      {4, "cali0e931f8d8ec", "veth", 1450, true, {}}};
  t.addrs = {{2, "192.0.2.2", 24}, {3, "10.244.2.0", 32}};
  t.routes = {{"0.0.0.0", 0, "192.0.2.254", 2},
              {"192.0.2.0", 24, "", 2},
              {"10.244.1.0", 24, "10.244.1.0", 3},
              {"10.244.3.0", 24, "10.244.3.0", 3},
              {"10.244.2.10", 32, "", 4}};
  t.neighs = {{3, "10.244.1.0", "02:76:78:00:00:01"}, {3, "10.244.3.0", "02:76:78:00:00:03"}};
  t.fdb = {{3, "02:76:78:00:00:01", "192.0.2.1"}, {3, "02:76:78:00:00:03", "192.0.2.3"}};
  return t;
}

const VxlanNames kNames{"eth0", "vxlan.calico", 4789};

TEST(VxlanDevice, HealthyNodeHasEveryPeerProgrammedAndNoFinding) {
  auto t = lab_node_b();
  auto peers = peer_programming(t, *t.link("vxlan.calico"));
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_TRUE(peers[0].complete());
  EXPECT_EQ(peers[1].vtep, "192.0.2.3");
  EXPECT_TRUE(vxlan_findings(t, kNames, LiveEvidence{}).empty());
  auto r = vxlan_check(t, kNames);
  EXPECT_EQ(r.data["vni"], 4096);
  EXPECT_EQ(r.data["udpcsum"], true);
}

TEST(VxlanDevice, PeerWithoutFdbEntryCannotBeEncapsulated) {
  auto t = lab_node_b();
  t.fdb.pop_back();
  auto f = vxlan_findings(t, kNames, LiveEvidence{});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "peer_not_encapsulated");
  EXPECT_EQ(f[0].evidence["block"], "10.244.3.0/24");
  EXPECT_EQ(f[0].evidence["neighbour_mac"], "02:76:78:00:00:03");
}

TEST(VxlanDevice, MissingDeviceIsSeed001) {
  auto t = lab_node_b();
  t.links.erase(t.links.begin() + 2);
  t.routes = {{"0.0.0.0", 0, "192.0.2.254", 2},
              {"10.244.3.0", 24, "192.0.2.3", 2},
              {"10.244.2.10", 32, "", 4}};
  auto f = vxlan_findings(t, kNames, LiveEvidence{});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "vxlan_device_missing");
  EXPECT_EQ(f[0].evidence["pod_routes_via_underlay"][0], "10.244.3.0/24 via 192.0.2.3 dev eth0");
  EXPECT_NE(f[0].fix_now[0].find("\"vxlanMode\":\"Always\""), std::string::npos);
}

// A node that is healthy without VXLAN must not be told to switch its pool to VXLAN.
TEST(VxlanDevice, NodesThatAreNoVxlanNodesGetNoFinding) {
  auto t = lab_node_b();
  t.links.erase(t.links.begin() + 2);  // no vxlan.calico
  t.routes = {{"0.0.0.0", 0, "192.0.2.254", 2}, {"192.0.2.0", 24, "", 2}};
  EXPECT_EQ(node_mode(t, kNames), NodeMode::not_calico_vxlan);  // not a Calico node at all
  EXPECT_TRUE(vxlan_findings(t, kNames, LiveEvidence{}).empty());
  EXPECT_EQ(vxlan_check(t, kNames).status, "ok");

  t.routes = {{"0.0.0.0", 0, "192.0.2.254", 2},
              {"10.244.3.0", 24, "192.0.2.3", 2, 12 /* proto bird */},
              {"10.244.2.10", 32, "", 4}};
  EXPECT_EQ(node_mode(t, kNames), NodeMode::bgp);
  EXPECT_TRUE(vxlan_findings(t, kNames, LiveEvidence{}).empty());

  t.routes[1].protocol = 0;  // the same route, not BGP's: the seed 001 pattern
  t.links.push_back({9, "tunl0", "ipip", 1480, true, {}});
  EXPECT_EQ(node_mode(t, kNames), NodeMode::ipip);
  EXPECT_TRUE(vxlan_findings(t, kNames, LiveEvidence{}).empty());
  EXPECT_NE(vxlan_check(t, kNames).detail.find("IPIP"), std::string::npos);
}

TEST(VxlanDevice, PodRouteViaUnderlayAndOversizedMtu) {
  auto t = lab_node_b();
  t.routes[3] = {"10.244.3.0", 24, "192.0.2.3", 2};
  t.links[2].mtu = 1500;
  auto f = vxlan_findings(t, kNames, LiveEvidence{});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, "vxlan_mtu");
  EXPECT_EQ(f[0].fix_now[0], "ip link set dev vxlan.calico mtu 1450");
  EXPECT_EQ(f[1].id, "pod_routes_unencapsulated");
}

TEST(VxlanDevice, LiveVniNotFoundFromAPeerIsAVniMismatch) {
  LiveEvidence live;
  live.observed = true;
  live.summary.peers = {{test::ip("192.0.2.1"), 50, 0, 0, 50, 1.0, {{Cause::vxlan, 50}}}};
  live.vxlan_by_reason["VXLAN_VNI_NOT_FOUND"] = 50;
  auto f = vxlan_findings(lab_node_b(), kNames, live);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "vxlan_vni_mismatch");
  EXPECT_EQ(f[0].run_on, "node 192.0.2.1");
  EXPECT_EQ(f[0].evidence["local_vni"], 4096);
}

// Kernels before 6.3 name no reason for it: the dropped packets' own VNI tells.
TEST(VxlanDevice, ForeignVniInDroppedPacketsIsAVniMismatchWithoutAReason) {
  LiveEvidence live;
  live.observed = true;
  live.summary.peers = {{test::ip("192.0.2.1"), 50, 0, 0, 50, 1.0, {{Cause::vxlan, 50}}}};
  live.vxlan_by_reason["NOT_SPECIFIED"] = 50;
  live.vxlan_dropped_vnis = {999};
  auto f = vxlan_findings(lab_node_b(), kNames, live);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "vxlan_vni_mismatch");
  live.vxlan_dropped_vnis = {4096};  // our own VNI: some other VXLAN fault, not a mismatch
  EXPECT_TRUE(vxlan_findings(lab_node_b(), kNames, live).empty());
}

TEST(VxlanDevice, LiveSenderWithoutFdbBackIsNamed) {
  LiveEvidence live;
  live.observed = true;
  live.summary.peers = {{test::ip("192.0.2.9"), 10, 0, 10, 0, 0, {}}};
  auto f = vxlan_findings(lab_node_b(), kNames, live);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].evidence["peer"], "192.0.2.9");
}

}  // namespace
}  // namespace vxt::doctor
