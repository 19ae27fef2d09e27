#include "netfilter/xt_legacy_dump.hpp"

#include <libiptc/libiptc.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>

#include "netfilter/xt_entry.hpp"

namespace vxt::nf {
namespace {

// libiptc keeps its socket and error state in globals: one reading at a time per process.
std::mutex iptc_mutex;

struct IptcFree {
  void operator()(xtc_handle* h) const { iptc_free(h); }
};

Error iptc_error(const std::string& what, int err) {
  return Error{what + ": " + iptc_strerror(err), err};
}

NftRule policy_rule(const std::string& table, const std::string& chain, xtc_handle* h) {
  xt_counters counters{};
  const char* verdict = iptc_get_policy(chain.c_str(), &counters, h);
  NftRule r;
  r.key = {"ip", table, chain, 0, RuleBackend::iptables_legacy};
  r.policy = true;
  r.packets = counters.pcnt;
  r.drops = verdict && std::string_view(verdict) == IPTC_LABEL_DROP;
  r.counts_drops_only = r.drops;  // the policy's counter counts only packets it decided
  return r;
}

Result<void> read_table(const std::string& table, std::vector<NftRule>& out) {
  std::unique_ptr<xtc_handle, IptcFree> h(iptc_init(table.c_str()));
  if (!h) return iptc_error("iptables-legacy table " + table, errno);
  // Sized once: growing by doubling would touch twice the fresh pages, a reading's main cost.
  size_t n = out.size();
  for (const char* c = iptc_first_chain(h.get()); c; c = iptc_next_chain(h.get())) {
    for (const ipt_entry* e = iptc_first_rule(c, h.get()); e; e = iptc_next_rule(e, h.get())) ++n;
    n += iptc_builtin(c, h.get()) ? 1 : 0;
  }
  out.reserve(n);
  for (const char* c = iptc_first_chain(h.get()); c; c = iptc_next_chain(h.get())) {
    std::string chain(c);
    uint64_t position = 0;
    for (const ipt_entry* e = iptc_first_rule(c, h.get()); e; e = iptc_next_rule(e, h.get()))
      out.push_back(parse_ipt_entry(*e, iptc_get_target(e, h.get()), table, chain, ++position));
    if (iptc_builtin(c, h.get())) out.push_back(policy_rule(table, chain, h.get()));
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> legacy_table_names(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "re"), std::fclose);
  if (!f) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return errno_error("read " + path, errno);
  }
  std::vector<std::string> names;
  char line[64];  // XT_TABLE_MAXNAMELEN is 32
  while (std::fgets(line, sizeof(line), f.get())) {
    std::string name(line);
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

Result<std::vector<NftRule>> legacy_rules() {
  auto tables = legacy_table_names();
  if (!tables) return tables.error();
  std::vector<NftRule> out;
  std::lock_guard<std::mutex> lock(iptc_mutex);
  for (const auto& table : *tables) {
    if (auto r = read_table(table, out); !r) return r.error();
  }
  return out;
}

}  // namespace vxt::nf
