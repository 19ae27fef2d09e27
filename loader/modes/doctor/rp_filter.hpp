// Reverse-path filtering: the value in force for a device is max(conf/all, conf/<dev>)
// (the kernel's IN_DEV_RPFILTER), not "the most specific wins" as seed 004 claims.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "modes/doctor/finding.hpp"

namespace vxt::doctor {

struct RpFilterInput {
  int all = 0;
  int def = 0;                      // conf/default: seeds devices created later only
  std::map<std::string, int> devs;  // the relevant devices: underlay, VXLAN, cali*
};

struct RpEffective {
  std::string dev;
  int dev_value = 0, all = 0, effective = 0;
};

RpEffective effective_rp_filter(const RpFilterInput& in, const std::string& dev);
std::string rp_mode_name(int value);  // 0 off, 1 strict, 2 loose

// Commands that bring the device's effective value to 0: every knob above 0 must go,
// because lowering one of two never lowers the max.
std::vector<std::string> rp_filter_fix(const RpEffective& e);
// sysctl.d lines that keep it so. Slash form, because device names may contain dots.
std::vector<std::string> rp_filter_persistent(const RpEffective& e);

// Reads conf/all, conf/default and conf/<dev> for each device (missing ones are skipped).
RpFilterInput read_rp_filter(const std::vector<std::string>& devs);

CheckResult rp_filter_check(const RpFilterInput& in);

}  // namespace vxt::doctor
