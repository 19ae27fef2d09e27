#include "modes/doctor/diagnosis.hpp"

#include "modes/doctor/findings.hpp"
#include "modes/doctor/firewalls.hpp"
#include "modes/doctor/kernel_version.hpp"

namespace vxt::doctor {
namespace {

void append(std::vector<Finding>& to, std::vector<Finding> more) {
  for (auto& f : more) to.push_back(std::move(f));
}

bool vxlan_inner_offload(const NodeChecks& c) {
  for (const auto& d : c.offloads)
    if (d.dev == c.names.vxlan_dev) return feature_on(d, kInnerCsum);
  return false;
}

std::vector<CheckResult> describe(const NodeChecks& c) {
  std::vector<CheckResult> out = {offloads_check(c.offloads, c.offload_errors),
                                  rp_filter_check(c.rp_filter),
                                  conntrack_check(c.conntrack),
                                  counters_check(c.counters),
                                  kernel_check(c.kernel_release, vxlan_inner_offload(c)),
                                  firewalls_check(c.firewall_managers, c.firewall_error)};
  if (c.topology_error.empty())
    out.push_back(vxlan_check(c.topology, c.names));
  else
    out.push_back({"vxlan_device", "error", "rtnetlink unreadable: " + c.topology_error, {}});
  return out;
}

// Which check a finding belongs to, so that check shows "warn" next to it.
std::string check_of(const std::string& id) {
  if (id.find("checksum") != std::string::npos || id.find("offload") != std::string::npos)
    return id.find("kernel") != std::string::npos ? "kernel" : "offloads";
  if (id.rfind("rp_filter", 0) == 0) return "rp_filter";
  if (id.rfind("conntrack", 0) == 0) return "conntrack";
  if (id.rfind("firewalls", 0) == 0) return "firewalls";
  return "vxlan_device";
}

}  // namespace

Diagnosis diagnose(const NodeChecks& c, const LiveEvidence& live) {
  Diagnosis d;
  DeviceNames names{c.names.underlay, c.names.vxlan_dev};
  append(d.findings, checksum_findings(live, c.offloads, c.kernel_release, names));
  append(d.findings, rp_filter_findings(c.rp_filter, live, names));
  append(d.findings, conntrack_findings(c.conntrack, live));
  append(d.findings, netfilter_findings(live));
  if (c.topology_error.empty()) append(d.findings, vxlan_findings(c.topology, c.names, live));
  append(d.findings, firewall_findings(c.firewall_managers));
  rank(d.findings);
  d.checks = describe(c);
  for (const auto& f : d.findings)
    for (auto& r : d.checks)
      if (r.name == check_of(f.id) && r.status == "ok") r.status = "warn";
  return d;
}

}  // namespace vxt::doctor
