// The running kernel against the fix for the inner-checksum bug of seed 003: with
// tx-checksum-ip-generic on the VXLAN device, MASQUERADEd Service packets could leave
// with a wrong inner TCP/UDP checksum. Fixed in 5.6.13, 5.4.41, 4.19.123, 4.14.181.
#pragma once

#include <optional>
#include <string>

#include "modes/doctor/finding.hpp"

namespace vxt::doctor {

struct KernelVersion {
  int major = 0, minor = 0, patch = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted <=>'s own 0
  auto operator<=>(const KernelVersion&) const = default;
};

std::optional<KernelVersion> parse_kernel_release(const std::string& release);  // "5.4.40-1-amd64"
bool has_inner_csum_fix(const KernelVersion& v);
std::string inner_csum_fix_versions();  // for sentences: "5.6.13, 5.4.41, 4.19.123, 4.14.181"

CheckResult kernel_check(const std::string& release, bool vxlan_inner_csum_offload);

}  // namespace vxt::doctor
