#include "modes/doctor/conntrack.hpp"

#include <fmt/format.h>

#include <sstream>
#include <vector>

#include "sys/proc_files.hpp"

namespace vxt::doctor {

std::map<std::string, uint64_t> parse_conntrack_stat(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> names;
  std::map<std::string, uint64_t> totals;
  if (!std::getline(in, line)) return totals;
  std::istringstream head(line);
  for (std::string n; head >> n;) names.push_back(n);
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::string v;
    for (size_t i = 0; i < names.size() && row >> v; ++i)
      totals[names[i]] += std::stoull(v, nullptr, 16);
  }
  totals.erase("entries");  // a gauge repeated on every CPU row: its sum means nothing
  return totals;
}

double fill_ratio(const ConntrackInput& c) {
  return c.max ? static_cast<double>(c.count) / static_cast<double>(c.max) : 0.0;
}

uint64_t stat_delta(const ConntrackInput& before, const ConntrackInput& after,
                    const std::string& name) {
  auto get = [&](const ConntrackInput& c) {
    auto it = c.stats.find(name);
    return it == c.stats.end() ? 0 : it->second;
  };
  return get(after) > get(before) ? get(after) - get(before) : 0;
}

ConntrackInput read_conntrack() {
  ConntrackInput c;
  auto count = read_long("/proc/sys/net/netfilter/nf_conntrack_count");
  auto max = read_long("/proc/sys/net/netfilter/nf_conntrack_max");
  if (!count || !max) return c;  // module not loaded here: nothing tracked, nothing dropped
  c.loaded = true;
  c.count = static_cast<uint64_t>(*count);
  c.max = static_cast<uint64_t>(*max);
  if (auto text = read_text("/proc/net/stat/nf_conntrack")) c.stats = parse_conntrack_stat(*text);
  return c;
}

CheckResult conntrack_check(const ConntrackInput& c) {
  if (!c.loaded) return {"conntrack", "skipped", "nf_conntrack not loaded in this namespace", {}};
  json data = {
      {"count", c.count}, {"max", c.max}, {"fill_ratio", fill_ratio(c)}, {"stats", c.stats}};
  auto stat = [&](const char* n) { return c.stats.contains(n) ? c.stats.at(n) : 0; };
  std::string detail = fmt::format(
      "{} of {} entries ({}); since boot: drop {}, early_drop {}, insert_failed {}, invalid {}",
      c.count, c.max, percent(fill_ratio(c)), stat("drop"), stat("early_drop"),
      stat("insert_failed"), stat("invalid"));
  return {"conntrack", "ok", detail, data};
}

}  // namespace vxt::doctor
