#include "netfilter/calico_names.hpp"

#include <string_view>

namespace vxt::nf {
namespace {

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool has(const RuleRecord& r, std::string_view text) {
  return r.comment && r.comment->find(text) != std::string::npos;
}

// Which way the chain guards a workload: "to"/"from the pod behind IFACE", or "".
std::string workload(std::string_view chain) {
  if (starts(chain, "cali-tw-")) return "to the pod behind " + std::string(chain.substr(8));
  if (starts(chain, "cali-fw-")) return "from the pod behind " + std::string(chain.substr(8));
  if (starts(chain, "cali-th-")) return "to host endpoint " + std::string(chain.substr(8));
  if (starts(chain, "cali-fh-")) return "from host endpoint " + std::string(chain.substr(8));
  return {};
}

}  // namespace

std::string calico_meaning(const RuleRecord& r) {
  std::string_view chain = r.chain;
  if (!starts(chain, "cali-") && !starts(r.comment.value_or(""), "cali:")) return {};
  auto who = workload(chain);
  if (r.ct_invalid) return "Calico: conntrack state INVALID" + (who.empty() ? "" : " " + who);
  if (has(r, "Drop if no policies passed packet"))
    return "NetworkPolicy: no policy allows traffic" + (who.empty() ? "" : " " + who);
  if (has(r, "Drop if no profiles matched"))
    return "NetworkPolicy: no policy or profile allows traffic" + (who.empty() ? "" : " " + who);
  if (starts(chain, "cali-pi-"))
    return "NetworkPolicy " + std::string(chain.substr(8)) + " (ingress) denies it";
  if (starts(chain, "cali-po-"))
    return "NetworkPolicy " + std::string(chain.substr(8)) + " (egress) denies it";
  if (r.table == "raw")
    return "Calico's own raw-table check (reverse path, or VXLAN from an unknown source)";
  if (!who.empty()) return "Calico rule " + who;
  return "Calico rule";
}

std::string show_rule_command(const RuleRecord& r) {
  return "nft -a list chain " + r.family + " " + r.table + " " + r.chain;
}

}  // namespace vxt::nf
