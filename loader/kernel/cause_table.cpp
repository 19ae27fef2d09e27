#include "kernel/cause_table.hpp"

#include <array>

namespace vxt {
namespace {

constexpr std::array<std::string_view, VXT_CAUSE_COUNT> kCauseNames = {
    "other", "checksum", "rp_filter", "conntrack", "netfilter", "vxlan", "background",
};

struct Rule {
  std::string_view name;
  enum { exact, prefix, suffix } match;
  uint8_t cause;
};

// First match wins. Reason names come from the running kernel's BTF, so a kernel that
// adds e.g. another *_CSUM reason is classified without a change here.
constexpr Rule kRules[] = {
    // Constant noise on every node: IPv6 multicast without listeners, and sockets
    // closed with data still queued (every netlink tool that exits).
    {"NOT_SPECIFIED", Rule::exact, VXT_CAUSE_BACKGROUND},
    {"QUEUE_PURGE", Rule::exact, VXT_CAUSE_BACKGROUND},
    {"_CSUM", Rule::suffix, VXT_CAUSE_CHECKSUM},  // TCP_, UDP_, IP_, ICMP_, SKB_CSUM
    {"IP_RPFILTER", Rule::exact, VXT_CAUSE_RP_FILTER},
    // Conntrack's when its rule matches ct state INVALID: userspace decides that, having read
    // the rule (decode/cause_decision.hpp).
    {"NETFILTER_DROP", Rule::exact, VXT_CAUSE_NETFILTER},
    {"VXLAN_", Rule::prefix, VXT_CAUSE_VXLAN},
    // Raised by the VXLAN receive path when an inner source MAC is invalid.
    {"MAC_INVALID_SOURCE", Rule::exact, VXT_CAUSE_VXLAN},
};

bool matches(const Rule& r, std::string_view reason) {
  switch (r.match) {
    case Rule::exact: return reason == r.name;
    case Rule::prefix: return reason.starts_with(r.name);
    case Rule::suffix: return reason.ends_with(r.name);
  }
  return false;
}

}  // namespace

std::string_view cause_name(uint8_t cause) {
  return cause < kCauseNames.size() ? kCauseNames[cause] : "other";
}

std::optional<uint8_t> cause_from_name(std::string_view name) {
  for (size_t i = 0; i < kCauseNames.size(); ++i)
    if (kCauseNames[i] == name) return static_cast<uint8_t>(i);
  return std::nullopt;
}

uint8_t cause_for_reason(std::string_view reason) {
  for (const auto& r : kRules)
    if (matches(r, reason)) return r.cause;
  return VXT_CAUSE_OTHER;
}

uint8_t reason_table_entry(std::string_view reason, bool kernel_names_reasons) {
  if (reason != "NOT_SPECIFIED") return cause_for_reason(reason);
  return VXT_CAUSE_BY_SITE | (kernel_names_reasons ? VXT_CAUSE_BACKGROUND : VXT_CAUSE_OTHER);
}

uint32_t default_stream_mask() {
  return ((1u << VXT_CAUSE_COUNT) - 1) & ~(1u << VXT_CAUSE_BACKGROUND);
}

Result<uint32_t> parse_cause_list(std::string_view list) {
  if (list == "default") return default_stream_mask();
  if (list == "all") return (1u << VXT_CAUSE_COUNT) - 1;
  uint32_t mask = 0;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item.empty()) continue;
    auto cause = cause_from_name(item);
    if (!cause) {
      std::string known;
      for (auto n : kCauseNames) known += (known.empty() ? "" : ", ") + std::string(n);
      return Error{"unknown cause '" + std::string(item) + "' (known: " + known +
                   ", all, default)"};
    }
    mask |= 1u << *cause;
  }
  if (mask == 0) return Error{"--causes names no cause"};
  return mask;
}

std::vector<std::string_view> all_cause_names() { return {kCauseNames.begin(), kCauseNames.end()}; }

}  // namespace vxt
