// Everything the node checks read (plain data), and the pure diagnosis that joins it with
// the live evidence into ranked findings and per-check results.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "modes/doctor/conntrack.hpp"
#include "modes/doctor/counters.hpp"
#include "modes/doctor/finding.hpp"
#include "modes/doctor/live.hpp"
#include "modes/doctor/offloads.hpp"
#include "modes/doctor/rp_filter.hpp"
#include "modes/doctor/topology.hpp"
#include "modes/doctor/vxlan_device.hpp"

namespace vxt::doctor {

struct NodeChecks {
  std::string node, kernel_release;
  VxlanNames names;
  std::vector<DeviceOffloads> offloads;
  std::vector<std::string> offload_errors;
  RpFilterInput rp_filter;
  ConntrackInput conntrack;
  Counters counters;
  Topology topology;
  std::string topology_error;
  std::set<std::string> firewall_managers;
  std::string firewall_error;
};

struct Diagnosis {
  std::vector<Finding> findings;  // ranked, most evident first
  std::vector<CheckResult> checks;
};

Diagnosis diagnose(const NodeChecks& checks, const LiveEvidence& live);

}  // namespace vxt::doctor
