// The thin readers: fill NodeChecks from the kernel of the namespace doctor runs in.
#pragma once

#include "cli/options.hpp"
#include "modes/doctor/diagnosis.hpp"

namespace vxt::doctor {

NodeChecks gather_checks(const Options& o);
// Devices that dropped packets live but were not among the relevant ones still need
// their rp_filter value for the finding.
void add_rp_filter_devices(NodeChecks& c, const LiveEvidence& live);

}  // namespace vxt::doctor
