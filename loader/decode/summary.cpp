#include "decode/summary.hpp"

#include <algorithm>

#include "decode/net_format.hpp"
#include "kernel/cause_table.hpp"

namespace vxt {

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
      s.drops_by_cause[std::string(cause_name(cause))] += n;
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
    p.by_cause[std::string(cause_name(key.second))] += n;
    p.drops += n;
  }
  for (auto& [addr, p] : peers) {
    p.peer = ipv4_string(addr);
    set_ratios(p);
    s.peers.push_back(std::move(p));
  }
  std::stable_sort(s.peers.begin(), s.peers.end(), [](const PeerSummary& a, const PeerSummary& b) {
    return a.drops != b.drops ? a.drops > b.drops : a.rx_packets > b.rx_packets;
  });

  s.lost_events = c.stats[VXT_STAT_LOST_EVENTS];
  s.events = c.stats[VXT_STAT_EVENTS];
  s.join_hits = c.stats[VXT_STAT_JOIN_HITS];
  s.join_other_cpu = c.stats[VXT_STAT_JOIN_OTHER_CPU];
  s.peer_drops_elsewhere = c.stats[VXT_STAT_PEER_DROPS_ELSEWHERE];
  s.events_rate_limited = c.stats[VXT_STAT_EVENTS_LIMITED];
  s.malformed = c.stats[VXT_STAT_TC_MALFORMED];
  s.peer_map_full = c.stats[VXT_STAT_PEER_MAP_FULL];
  return s;
}

}  // namespace vxt
