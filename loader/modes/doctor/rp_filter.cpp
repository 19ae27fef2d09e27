#include "modes/doctor/rp_filter.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "sys/proc_files.hpp"

namespace vxt::doctor {
namespace {

const std::string kConf = "/proc/sys/net/ipv4/conf/";

}  // namespace

RpEffective effective_rp_filter(const RpFilterInput& in, const std::string& dev) {
  auto it = in.devs.find(dev);
  int v = it == in.devs.end() ? 0 : it->second;
  return {dev, v, in.all, std::max(v, in.all)};
}

std::string rp_mode_name(int value) {
  switch (value) {
    case 0: return "off";
    case 1: return "strict";
    case 2: return "loose";
  }
  return "unknown";
}

std::vector<std::string> rp_filter_fix(const RpEffective& e) {
  std::vector<std::string> cmds;
  if (e.all > 0) cmds.emplace_back("sysctl -w net/ipv4/conf/all/rp_filter=0");
  if (e.dev_value > 0) cmds.push_back(fmt::format("sysctl -w net/ipv4/conf/{}/rp_filter=0", e.dev));
  return cmds;
}

std::vector<std::string> rp_filter_persistent(const RpEffective& e) {
  std::vector<std::string> lines = {"/etc/sysctl.d/90-vxlan-rp_filter.conf:"};
  if (e.all > 0) lines.emplace_back("  net/ipv4/conf/all/rp_filter = 0");
  lines.emplace_back("  net/ipv4/conf/default/rp_filter = 0");
  if (e.dev_value > 0) lines.push_back(fmt::format("  net/ipv4/conf/{}/rp_filter = 0", e.dev));
  lines.emplace_back(
      "then `sysctl --system`; the device line must be re-applied when the device is "
      "re-created (a systemd unit After=network-online.target, or a DaemonSet that "
      "normalizes rp_filter on every node)");
  return lines;
}

RpFilterInput read_rp_filter(const std::vector<std::string>& devs) {
  RpFilterInput in;
  in.all = static_cast<int>(read_long(kConf + "all/rp_filter").value_or(0));
  in.def = static_cast<int>(read_long(kConf + "default/rp_filter").value_or(0));
  for (const auto& d : devs)
    if (auto v = read_long(kConf + d + "/rp_filter")) in.devs[d] = static_cast<int>(*v);
  return in;
}

CheckResult rp_filter_check(const RpFilterInput& in) {
  CheckResult r{"rp_filter", "ok", "", {{"all", in.all}, {"default", in.def}}};
  std::vector<std::string> parts;
  json devs = json::array();
  for (const auto& [dev, v] : in.devs) {
    auto e = effective_rp_filter(in, dev);
    devs.push_back({{"dev", dev},
                    {"value", v},
                    {"effective", e.effective},
                    {"mode", rp_mode_name(e.effective)}});
    parts.push_back(fmt::format("{} {}", dev, e.effective));
  }
  r.data["devices"] = devs;
  r.detail = fmt::format("effective = max(all {}, dev): {}", in.all, fmt::join(parts, ", "));
  return r;
}

}  // namespace vxt::doctor
