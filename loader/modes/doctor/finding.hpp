// What doctor concludes: findings (a problem, its evidence and its fix) and check results
// (what each check read, shown even when healthy so the reader sees what was looked at).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vxt::doctor {

using json = nlohmann::ordered_json;

enum class Severity { critical, warning };

// How the finding is known, strongest first: drops seen live beat kernel counters, which
// beat configuration that is only known to be risky.
enum class Evidence { live_drops = 3, kernel_counters = 2, configuration = 1 };

struct Finding {
  std::string id;  // stable, for tools: "outer_checksum_peer", "rp_filter_drops", ...
  Severity severity = Severity::warning;
  Evidence basis = Evidence::configuration;
  uint64_t weight = 0;  // drops or counter delta behind it: orders findings of one basis
  std::string title;
  json evidence = json::object();
  std::string root_cause;               // one sentence
  std::string run_on;                   // "this node" or "node 192.0.2.1"
  std::vector<std::string> fix_now;     // exact commands
  std::vector<std::string> persistent;  // how to make the fix survive reboots and rollouts

  static Finding make(std::string id, Severity s, Evidence basis, uint64_t weight = 0) {
    Finding f;
    f.id = std::move(id);
    f.severity = s;
    f.basis = basis;
    f.weight = weight;
    return f;
  }
};

struct CheckResult {
  std::string name;
  std::string status;  // "ok", "warn", "error" (could not read), "skipped"
  std::string detail;  // one line for people
  json data = json::object();
};

std::string severity_name(Severity s);
std::string evidence_name(Evidence e);

// Most evident first: basis, then severity, then weight; stable for equal keys.
void rank(std::vector<Finding>& findings);

// "3.7 %" style, the way on-call engineers read ratios.
std::string percent(double ratio);

}  // namespace vxt::doctor
