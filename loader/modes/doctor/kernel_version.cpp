#include "modes/doctor/kernel_version.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdio>

namespace vxt::doctor {
namespace {

// Stable lines that received the backport; any other line is fixed only from 5.6.13 on.
constexpr std::array<KernelVersion, 4> kFixes = {
    {{5, 6, 13}, {5, 4, 41}, {4, 19, 123}, {4, 14, 181}}};

}  // namespace

std::optional<KernelVersion> parse_kernel_release(const std::string& release) {
  KernelVersion v;
  int n = std::sscanf(release.c_str(), "%d.%d.%d", &v.major, &v.minor, &v.patch);
  if (n < 2) return std::nullopt;
  if (n == 2) v.patch = 0;  // "6.1-rc3" style
  return v;
}

bool has_inner_csum_fix(const KernelVersion& v) {
  for (const auto& fix : kFixes)
    if (v.major == fix.major && v.minor == fix.minor) return v.patch >= fix.patch;
  return v >= kFixes[0];
}

std::string inner_csum_fix_versions() { return "5.6.13, 5.4.41, 4.19.123 and 4.14.181"; }

CheckResult kernel_check(const std::string& release, bool vxlan_inner_csum_offload) {
  auto v = parse_kernel_release(release);
  if (!v) return {"kernel", "error", "cannot parse kernel release " + release, {}};
  bool fixed = has_inner_csum_fix(*v);
  json data = {{"release", release},
               {"inner_csum_bug_fixed", fixed},
               {"vxlan_tx_checksum_ip_generic", vxlan_inner_csum_offload}};
  std::string detail = fmt::format("{}: {} the inner-checksum fix ({})", release,
                                   fixed ? "has" : "predates", inner_csum_fix_versions());
  return {"kernel", fixed || !vxlan_inner_csum_offload ? "ok" : "warn", detail, data};
}

}  // namespace vxt::doctor
