#include "modes/doctor/firewalls.hpp"

#include <gtest/gtest.h>

namespace vxt::doctor {
namespace {

using Managers = std::set<std::string>;

TEST(Firewalls, ClusterAndIptablesNftTablesAreNotManagers) {
  std::vector<NftChain> rs = {{"ip", "filter", ""},
                              {"ip", "filter", "KUBE-FORWARD"},
                              {"ip", "nat", "cali-PREROUTING"},
                              {"ip", "calico", ""},
                              {"ip", "kube-proxy", "services"}};
  EXPECT_TRUE(firewall_managers(rs).empty());
}

TEST(Firewalls, UfwFirewalldAndHandWrittenNftablesAreRecognised) {
  std::vector<NftChain> rs = {{"ip", "filter", "ufw-before-input"},
                              {"inet", "firewalld", "filter_INPUT"},
                              {"inet", "filter", "input"}};
  EXPECT_EQ(firewall_managers(rs), (Managers{"firewalld", "nftables", "ufw"}));
}

TEST(Firewalls, TwoManagersFightAndTheFixKeepsUfwAsSeed004Did) {
  auto f = firewall_findings({"firewalld", "ufw"});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "firewalls_fighting");
  EXPECT_EQ(f[0].fix_now, std::vector<std::string>{
                              "systemctl disable --now firewalld && systemctl mask firewalld"});
  EXPECT_TRUE(firewall_findings({"ufw"}).empty());
}

}  // namespace
}  // namespace vxt::doctor
