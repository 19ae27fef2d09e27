#include "decode/record_names.hpp"

#include "kernel/cause_table.hpp"

namespace vxt {

std::string_view name(Cause c) { return cause_name(static_cast<uint8_t>(c)); }

std::string_view name(CtState s) {
  switch (s) {
    case CtState::none: return "none";
    case CtState::untracked: return "untracked";
    case CtState::unconfirmed: return "new";
    case CtState::confirmed: return "confirmed";
    case CtState::unknown: break;
  }
  return "unknown";
}

std::string_view name(NetnsSource s) {
  switch (s) {
    case NetnsSource::device: return "device";
    case NetnsSource::socket: return "socket";
    case NetnsSource::task: return "task";
    case NetnsSource::unknown: break;
  }
  return "unknown";
}

std::string_view name(TunnelSource s) { return s == TunnelSource::outer ? "outer" : "joined"; }

std::string_view name(RxCsum r) {
  switch (r) {
    case RxCsum::unnecessary: return "unnecessary";
    case RxCsum::software: return "software";
    case RxCsum::unknown: break;
  }
  return "unknown";
}

std::string_view name(RuleBackend b) {
  return b == RuleBackend::iptables_legacy ? "iptables-legacy" : "nftables";
}

std::string rule_label(const RuleRecord& r) {
  std::string where = r.table + "/" + r.chain;
  bool legacy = r.backend == RuleBackend::iptables_legacy;
  if (r.policy) return where + " policy" + (legacy ? " (legacy)" : "");
  if (legacy) return where + " rule " + std::to_string(r.handle) + " (legacy)";
  return where + " #" + std::to_string(r.handle);
}

}  // namespace vxt
