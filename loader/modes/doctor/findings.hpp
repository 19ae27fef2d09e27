// The pure joins of node checks and live evidence into findings, one function per topic.
// Each takes recorded inputs only, so unit tests drive them with recorded summaries.
#pragma once

#include <string>
#include <vector>

#include "modes/doctor/conntrack.hpp"
#include "modes/doctor/finding.hpp"
#include "modes/doctor/live.hpp"
#include "modes/doctor/offloads.hpp"
#include "modes/doctor/rp_filter.hpp"

namespace vxt::doctor {

struct DeviceNames {
  std::string underlay, vxlan_dev;
};

// Bad outer checksums (seed 002) and bad inner checksums (seed 003), per sending node;
// plus this node's own risky offloads (known-bad driver, kernel before the inner fix).
std::vector<Finding> checksum_findings(const LiveEvidence& live,
                                       const std::vector<DeviceOffloads>& local,
                                       const std::string& kernel_release, const DeviceNames& n);

// Live rp_filter drops by device, and strict filtering on the tunnel path without drops.
std::vector<Finding> rp_filter_findings(const RpFilterInput& rp, const LiveEvidence& live,
                                        const DeviceNames& n);

// Table fill, full-table and insert-race drops, and INVALID packets dropped by a rule.
std::vector<Finding> conntrack_findings(const ConntrackInput& now, const LiveEvidence& live);

// Drops by any other netfilter rule: a NetworkPolicy, Calico's checks, a hand-written rule.
std::vector<Finding> netfilter_findings(const LiveEvidence& live);

}  // namespace vxt::doctor
