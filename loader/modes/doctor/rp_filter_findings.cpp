#include <fmt/format.h>

#include "modes/doctor/findings.hpp"

namespace vxt::doctor {
namespace {

// Which knob holds the device at its value: the seed-004 trap is that lowering `all`
// never lowers a device set higher, and vice versa.
std::string why_effective(const RpEffective& e) {
  if (e.all > 0 && e.dev_value > 0)
    return fmt::format("both conf/all ({}) and conf/{} ({}) are set", e.all, e.dev, e.dev_value);
  if (e.all > 0)
    return fmt::format("conf/all is {} and the maximum wins over conf/{} = 0", e.all, e.dev);
  return fmt::format("conf/{} is {}; setting conf/all to 0 lowers nothing, the maximum wins", e.dev,
                     e.dev_value);
}

// What both findings show and how both fix it: the device's knobs, lowered on this node.
Finding rp_finding(std::string id, Severity s, Evidence basis, uint64_t weight,
                   const RpEffective& e) {
  auto f = Finding::make(std::move(id), s, basis, weight);
  f.evidence = {{"dev", e.dev},
                {"dev_rp_filter", e.dev_value},
                {"all_rp_filter", e.all},
                {"effective", e.effective},
                {"mode", rp_mode_name(e.effective)}};
  f.run_on = "this node";
  f.fix_now = rp_filter_fix(e);
  f.persistent = rp_filter_persistent(e);
  return f;
}

Finding live_drops(const RpEffective& e, uint64_t drops, const LiveEvidence& live) {
  auto f = rp_finding("rp_filter_drops", Severity::critical, Evidence::live_drops, drops, e);
  f.title = fmt::format(
      "rp_filter dropped {} packets arriving on {} in {:.0f} s (effective "
      "rp_filter {} = max(all {}, {} {}))",
      drops, e.dev, live.seconds, e.effective, e.all, e.dev, e.dev_value);
  f.evidence["drops"] = drops;
  f.evidence["kernel_TcpExt_IPReversePathFilter"] = live.counter(kRpFilterCounter);
  if (auto it = live.rp_filter_sources.find(e.dev); it != live.rp_filter_sources.end())
    f.evidence["sample_sources"] = it->second;
  f.root_cause = fmt::format(
      "Reverse-path filtering on {} drops packets whose source is routed back through another "
      "device (asymmetric overlay paths, NAT replies): {}.",
      e.dev, why_effective(e));
  if (f.fix_now.empty())  // already lowered since the drops: say so rather than print nothing
    f.fix_now = {
        fmt::format("sysctl net/ipv4/conf/all/rp_filter net/ipv4/conf/{}/rp_filter  # "
                    "already 0 now; something resets it",
                    e.dev)};
  return f;
}

Finding strict_on_path(const RpEffective& e) {
  auto f = rp_finding("rp_filter_strict", Severity::warning, Evidence::configuration, 0, e);
  f.title = fmt::format("strict rp_filter in force on {} (max(all {}, {} {}) = 1)", e.dev, e.all,
                        e.dev, e.dev_value);
  f.root_cause = fmt::format(
      "Strict reverse-path filtering on the tunnel path drops packets from pods whose source is "
      "routed via another device and NAT replies: {}.",
      why_effective(e));
  return f;
}

}  // namespace

std::vector<Finding> rp_filter_findings(const RpFilterInput& rp, const LiveEvidence& live,
                                        const DeviceNames& n) {
  std::vector<Finding> out;
  for (const auto& [dev, drops] : live.rp_filter_by_dev)
    out.push_back(live_drops(effective_rp_filter(rp, dev), drops, live));
  // Without drops, only the tunnel path is worth a warning: Calico itself sets strict
  // mode on cali* devices, where pod sources always route back the way they came.
  for (const auto& dev : {n.underlay, n.vxlan_dev}) {
    if (live.rp_filter_by_dev.contains(dev) || !rp.devs.contains(dev)) continue;
    auto e = effective_rp_filter(rp, dev);
    if (e.effective == 1) out.push_back(strict_on_path(e));
  }
  return out;
}

}  // namespace vxt::doctor
