// Everything the node checks read (plain data), and the pure diagnosis that joins it with
// the live evidence into ranked findings and per-check results.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "doctor/conntrack.hpp"
#include "doctor/counters.hpp"
#include "doctor/finding.hpp"
#include "doctor/live.hpp"
#include "doctor/offloads.hpp"
#include "doctor/rp_filter.hpp"
#include "doctor/topology.hpp"
#include "doctor/vxlan_device.hpp"

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
