#include "modes/doctor/finding.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vxt::doctor {

std::string severity_name(Severity s) { return s == Severity::critical ? "critical" : "warning"; }

std::string evidence_name(Evidence e) {
  switch (e) {
    case Evidence::live_drops: return "live_drops";
    case Evidence::kernel_counters: return "kernel_counters";
    case Evidence::configuration: return "configuration";
  }
  return "configuration";
}

void rank(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.basis != b.basis) return a.basis > b.basis;
    if (a.severity != b.severity) return a.severity < b.severity;
    return a.weight > b.weight;
  });
}

std::string percent(double ratio) {
  double p = ratio * 100;
  return p >= 10 ? fmt::format("{:.0f} %", p) : fmt::format("{:.1f} %", p);
}

}  // namespace vxt::doctor
