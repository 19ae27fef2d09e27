#include "modes/doctor/counters.hpp"

#include <fmt/format.h>

#include <sstream>
#include <vector>

#include "sys/proc_files.hpp"

namespace vxt::doctor {
namespace {

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

uint64_t get(const Counters& c, const std::string& name) {
  auto it = c.find(name);
  return it == c.end() ? 0 : it->second;
}

}  // namespace

Counters parse_proc_counters(const std::string& text) {
  Counters out;
  std::istringstream in(text);
  std::string head, values;
  while (std::getline(in, head) && std::getline(in, values)) {
    auto names = words(head), vals = words(values);
    if (names.empty() || vals.empty() || names[0] != vals[0]) continue;
    std::string group = names[0].substr(0, names[0].size() - 1);  // drop the ':'
    for (size_t i = 1; i < names.size() && i < vals.size(); ++i) {
      // Some values (Tcp MaxConn) are negative; they are not counters we use.
      if (vals[i][0] != '-') out[group + "." + names[i]] = std::stoull(vals[i]);
    }
  }
  return out;
}

uint64_t counter_delta(const Counters& before, const Counters& after, const std::string& name) {
  return get(after, name) > get(before, name) ? get(after, name) - get(before, name) : 0;
}

Counters read_counters() {
  std::string text = read_text("/proc/net/snmp").value_or("");
  text += read_text("/proc/net/netstat").value_or("");
  return parse_proc_counters(text);
}

CheckResult counters_check(const Counters& c) {
  json data = json::object();
  for (const char* n : {kUdpCsumErrors, kTcpCsumErrors, kRpFilterCounter}) data[n] = get(c, n);
  std::string detail = fmt::format(
      "since namespace creation: Udp InCsumErrors {}, Tcp InCsumErrors {}, TcpExt "
      "IPReversePathFilter {}",
      get(c, kUdpCsumErrors), get(c, kTcpCsumErrors), get(c, kRpFilterCounter));
  return {"counters", "ok", detail, data};
}

}  // namespace vxt::doctor
