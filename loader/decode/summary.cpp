#include "decode/summary.hpp"

#include <algorithm>

#include "decode/self_counters.hpp"

namespace vxt {
namespace {

// BPF clamps its causes; a map value from elsewhere still becomes a cause the sinks can name.
Cause typed(uint32_t cause) {
  return cause < VXT_CAUSE_COUNT ? static_cast<Cause>(cause) : Cause::other;
}

}  // namespace

void set_ratios(PeerSummary& p) {
  auto ratio = [&](uint64_t n) {
    return p.rx_packets ? static_cast<double>(n) / static_cast<double>(p.rx_packets) : 0.0;
  };
  p.drop_ratio = ratio(p.drops);
  p.ratio_by_cause.clear();
  for (const auto& [cause, n] : p.by_cause) p.ratio_by_cause[cause] = ratio(n);
}

Summary summarize(const RawCounters& c, const DropReasons& reasons) {
  Summary s;
  for (uint32_t slot = 0; slot < VXT_MAX_REASONS; ++slot) {
    for (uint32_t cause = 0; cause < VXT_CAUSE_COUNT; ++cause) {
      uint64_t n = c.drop_slots[vxt_drop_slot(slot, cause)];
      if (n == 0) continue;
      s.drops_by_cause[typed(cause)] += n;
      s.drops_by_reason[slot == VXT_REASON_OVERFLOW ? "SUBSYSTEM" : reasons.name(slot)] += n;
    }
  }

  std::map<uint32_t, PeerSummary> peers;
  for (const auto& [peer, rx] : c.peer_rx) {
    auto& p = peers[peer];
    p.rx_packets = rx.packets;
    p.rx_bytes = rx.bytes;
    p.decapsulated = rx.decapsulated;
  }
  for (const auto& [key, n] : c.peer_drops) {
    if (n == 0) continue;
    auto& p = peers[key.first];
    p.by_cause[typed(key.second)] += n;
    p.drops += n;
  }
  for (auto& [addr, p] : peers) {
    p.peer = addr;
    set_ratios(p);
    s.peers.push_back(std::move(p));
  }
  std::stable_sort(s.peers.begin(), s.peers.end(), [](const PeerSummary& a, const PeerSummary& b) {
    return a.drops != b.drops ? a.drops > b.drops : a.rx_packets > b.rx_packets;
  });

  for (const auto& k : kSelfCounters)
    if (k.stat >= 0) s.*k.field = c.stats[static_cast<size_t>(k.stat)];
  return s;
}

}  // namespace vxt
