#include "modes/doctor/report.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"

namespace vxt::doctor {
namespace {

json finding_json(const Finding& f, size_t rank) {
  return {{"rank", rank},
          {"id", f.id},
          {"severity", severity_name(f.severity)},
          {"basis", evidence_name(f.basis)},
          {"title", f.title},
          {"evidence", f.evidence},
          {"root_cause", f.root_cause},
          {"run_on", f.run_on},
          {"fix_now", f.fix_now},
          {"persistent_fix", f.persistent}};
}

json live_json(const ReportContext& ctx) {
  if (!ctx.live || !ctx.live->observed) return nullptr;
  const auto& l = *ctx.live;
  json peers = json::array();
  for (const auto& p : l.summary.peers) {
    json by_cause = json::object();
    for (const auto& [cause, n] : p.by_cause) by_cause[std::string(name(cause))] = n;
    peers.push_back({{"peer", ipv4_string(p.peer)},
                     {"rx_packets", p.rx_packets},
                     {"drops", p.drops},
                     {"drop_ratio", p.drop_ratio},
                     {"by_cause", by_cause}});
  }
  return {{"window_s", l.seconds},
          {"peers", peers},
          {"rp_filter_by_dev", l.rp_filter_by_dev},
          {"conntrack_invalid_drops", l.conntrack_drops},
          {"vxlan_by_reason", l.vxlan_by_reason},
          {"events_used", l.events_used},
          {"events_other_netns", l.events_elsewhere},
          {"lost_events", l.summary.lost_events}};
}

// Evidence values on one line each: scalars as they are, containers compact.
void write_evidence(std::ostream& out, const json& ev) {
  for (const auto& [k, v] : ev.items())
    fmt::print(out, "      {}: {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
}

void write_finding(std::ostream& out, const Finding& f, size_t rank) {
  fmt::print(out, "\n[{}] {}  {}\n", rank, severity_name(f.severity), f.title);
  fmt::print(out, "    evidence ({}):\n", evidence_name(f.basis));
  write_evidence(out, f.evidence);
  fmt::print(out, "    root cause: {}\n", f.root_cause);
  fmt::print(out, "    fix now, on {}:\n", f.run_on);
  for (const auto& c : f.fix_now) fmt::print(out, "      {}\n", c);
  fmt::print(out, "    persistent fix:\n");
  for (const auto& p : f.persistent) fmt::print(out, "      {}\n", p);
}

}  // namespace

json report_json(const Diagnosis& d, const ReportContext& ctx) {
  json findings = json::array(), checks = json::array();
  for (size_t i = 0; i < d.findings.size(); ++i)
    findings.push_back(finding_json(d.findings[i], i + 1));
  for (const auto& c : d.checks)
    checks.push_back(
        {{"name", c.name}, {"status", c.status}, {"detail", c.detail}, {"data", c.data}});
  return {{"type", "doctor"},     {"schema", kSchemaVersion}, {"version", ctx.version},
          {"node", ctx.node},     {"kernel", ctx.kernel},     {"healthy", d.findings.empty()},
          {"findings", findings}, {"checks", checks},         {"live", live_json(ctx)}};
}

void write_json(std::ostream& out, const Diagnosis& d, const ReportContext& ctx) {
  out << report_json(d, ctx).dump() << '\n';
}

void write_text(std::ostream& out, const Diagnosis& d, const ReportContext& ctx) {
  std::string window = ctx.window_s > 0
                           ? fmt::format("{:.0f} s of live drop evidence", ctx.window_s)
                           : "no live evidence (--duration 0)";
  fmt::print(out, "vxtrace doctor on {} (kernel {}, {})\n", ctx.node, ctx.kernel, window);
  if (d.findings.empty())
    fmt::print(out, "No findings: nothing on this node explains VXLAN packet loss.\n");
  else
    fmt::print(out, "{} finding(s), most evident first:\n", d.findings.size());
  for (size_t i = 0; i < d.findings.size(); ++i) write_finding(out, d.findings[i], i + 1);
  fmt::print(out, "\nChecks:\n");
  for (const auto& c : d.checks) fmt::print(out, "  {:<13} {:<7} {}\n", c.name, c.status, c.detail);
}

}  // namespace vxt::doctor
