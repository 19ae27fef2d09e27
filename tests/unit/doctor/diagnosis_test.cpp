#include "modes/doctor/diagnosis.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "ipv4.hpp"
#include "modes/doctor/report.hpp"

namespace vxt::doctor {
namespace {

NodeChecks healthy_node() {
  NodeChecks c;
  c.node = "b";
  c.kernel_release = "6.18.44";
  c.names = {"eth0", "vxlan.calico", 4789};
  c.offloads = {{"eth0", DriverInfo{"veth", "1.0", "", ""}, {{kTunnelCsumSegmentation, true}}},
                {"vxlan.calico", DriverInfo{"vxlan", "0.1", "", ""}, {{kInnerCsum, true}}}};
  c.rp_filter = {0, 0, {{"eth0", 0}, {"vxlan.calico", 0}}};
  c.conntrack = {true, 3, 262144, {}};
  c.topology.links = {
      {2, "eth0", "veth", 1500, true, {}},
      {3, "vxlan.calico", "vxlan", 1450, true, VxlanInfo{4096, 4789, "", false, false, 2}}};
  c.topology.fdb = {{3, "02:76:78:00:00:01", "192.0.2.1"}};  // peer a is programmed
  return c;
}

TEST(Diagnosis, HealthyNodeHasNoFindingAndEveryCheckOk) {
  auto d = diagnose(healthy_node(), LiveEvidence{});
  EXPECT_TRUE(d.findings.empty());
  ASSERT_EQ(d.checks.size(), 7u);
  for (const auto& c : d.checks) EXPECT_EQ(c.status, "ok") << c.name << ": " << c.detail;
}

TEST(Diagnosis, LiveEvidenceRanksAboveConfigurationAndMarksItsCheck) {
  auto c = healthy_node();
  c.rp_filter.devs["vxlan.calico"] = 1;
  c.firewall_managers = {"ufw", "firewalld"};
  LiveEvidence live;
  live.observed = true;
  live.summary.peers = {{test::ip("192.0.2.1"), 1000, 0, 963, 37, 0.037, {{Cause::checksum, 37}}}};
  auto d = diagnose(c, live);
  ASSERT_EQ(d.findings.size(), 3u);
  EXPECT_EQ(d.findings[0].id, "outer_checksum_peer");
  EXPECT_EQ(d.findings[1].id, "rp_filter_strict");
  EXPECT_EQ(d.findings[2].id, "firewalls_fighting");
  for (const auto& r : d.checks)
    if (r.name == "offloads" || r.name == "rp_filter" || r.name == "firewalls")
      EXPECT_EQ(r.status, "warn") << r.name;
}

TEST(Report, JsonFollowsTheSchemaAndTextCarriesTheFix) {
  LiveEvidence live;
  live.observed = true;
  live.seconds = 2;
  live.summary.peers = {{test::ip("192.0.2.1"), 1000, 0, 963, 37, 0.037, {{Cause::checksum, 37}}}};
  auto d = diagnose(healthy_node(), live);
  ReportContext ctx{"b", "6.18.44", "0.1.0", 2, &live};
  auto j = report_json(d, ctx);
  EXPECT_EQ(j["schema"], kSchemaVersion);
  EXPECT_EQ(j["healthy"], false);
  const auto& f = j["findings"][0];
  for (const char* k : {"rank", "id", "severity", "basis", "title", "evidence", "root_cause",
                        "run_on", "fix_now", "persistent_fix"})
    EXPECT_TRUE(f.contains(k)) << k;
  EXPECT_EQ(j["live"]["peers"][0]["drops"], 37);
  std::ostringstream text;
  write_text(text, d, ctx);
  EXPECT_NE(text.str().find("fix now, on node 192.0.2.1:"), std::string::npos);
  EXPECT_NE(text.str().find("ethtool -K eth0 tx-udp_tnl-csum-segmentation off"), std::string::npos);
}

}  // namespace
}  // namespace vxt::doctor
