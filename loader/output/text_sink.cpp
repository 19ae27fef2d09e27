#include "output/text_sink.hpp"

#include <fmt/format.h>

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"
#include "netfilter/calico_names.hpp"

namespace vxt {

std::string format_drop_line(const DropRecord& d) {
  std::string ts = rfc3339_ns(d.ts_unix_ns).substr(11, 15);  // HH:MM:SS.micro
  std::string line = fmt::format("{} {:<11} {:<22} {:<34} {}", ts, name(d.cause), d.reason,
                                 d.location, d.ifname.empty() ? "-" : d.ifname);
  if (d.flow) {
    const auto& f = *d.flow;
    line += fmt::format("  {} {}:{} > {}:{}", proto_name(f.proto), ipv4_string(f.src), f.sport,
                        ipv4_string(f.dst), f.dport);
    if (has_tcp_flags(f)) line += " [" + tcp_flags_string(f.tcp_flags) + "]";
  }
  if (d.tunnel)
    line += fmt::format("  via {} vni {} ({})", ipv4_string(d.tunnel->peer), d.tunnel->vni,
                        name(d.tunnel->source));
  if (d.cause == Cause::conntrack || d.cause == Cause::netfilter)
    line += fmt::format(" ct={}", name(d.ct_state));
  if (d.csum && d.csum->verified)
    line += fmt::format("  [bad {} {} cksum 0x{:04x} -> 0x{:04x}: {}]", d.csum->layer,
                        d.csum->proto, d.csum->wire, d.csum->correct, d.csum->pattern);
  else if (d.csum)
    line += "  [cksum not verified: " + d.csum->why + "]";
  if (d.rule) {
    line += "  rule " + rule_label(*d.rule);
    if (d.rule->comment) line += " \"" + *d.rule->comment + "\"";
    if (auto meaning = nf::calico_meaning(*d.rule); !meaning.empty()) line += " (" + meaning + ")";
  }
  return line;
}

void TextSink::start(const StartInfo& info) {
  out_ << fmt::format("vxtrace {} on {} (kernel {}), watching:", info.version, info.node,
                      info.kernel);
  for (const auto& a : info.attached) out_ << fmt::format(" {}[{} {}]", a.ifname, a.role, a.hook);
  out_ << "\nTIME            CAUSE       REASON                 LOCATION                           "
          "DEV"
          "  FLOW  TUNNEL\n";
  out_.flush();
}

void TextSink::drop(const DropRecord& d) {
  out_ << format_drop_line(d) << '\n';
  for (const auto& frame : d.stack) out_ << "    " << frame << '\n';
  out_.flush();
}

void TextSink::summary(const Summary& s) {
  out_ << fmt::format("--- {} after {:.1f}s ---\n", s.final ? "summary" : "interval", s.elapsed_s);
  out_ << "drops by cause:";
  for (const auto& [cause, n] : s.drops_by_cause) out_ << fmt::format(" {}={}", name(cause), n);
  out_ << "\ndrops by reason:";
  for (const auto& [reason, n] : s.drops_by_reason) out_ << fmt::format(" {}={}", reason, n);
  out_ << '\n';
  if (!s.peers.empty()) {
    out_ << fmt::format("{:<16} {:>10} {:>10} {:>8} {:>9}  {}\n", "PEER", "RX_PKTS", "DECAP",
                        "DROPS", "RATIO", "BY_CAUSE");
    for (const auto& p : s.peers) {
      std::string causes;
      for (const auto& [c, n] : p.by_cause)
        causes += fmt::format("{}={} ({:.3f}%) ", name(c), n, 100.0 * p.ratio_by_cause.at(c));
      out_ << fmt::format("{:<16} {:>10} {:>10} {:>8} {:>8.3f}%  {}\n", ipv4_string(p.peer),
                          p.rx_packets, p.decapsulated, p.drops, 100.0 * p.drop_ratio, causes);
    }
  }
  if (!s.netfilter_rules.empty()) {
    out_ << fmt::format("{:>8}  {}\n", "DROPS", "NETFILTER RULE");
    for (const auto& t : s.netfilter_rules) {
      const auto& r = t.rule;
      out_ << fmt::format("{:>8}  {} {}", t.drops, r.family, rule_label(r));
      if (r.comment) out_ << " \"" << *r.comment << '"';
      if (auto meaning = nf::calico_meaning(r); !meaning.empty()) out_ << " (" << meaning << ")";
      out_ << '\n';
    }
  }
  out_ << fmt::format("events: {} streamed, {} lost (ring buffer full), ", s.events, s.lost_events);
  if (s.events_rate_limited)
    out_ << fmt::format("{} over --bpf-event-rate, ", s.events_rate_limited);
  if (s.events_filtered)
    out_ << fmt::format("{} not of the --causes once their rule was named, ", s.events_filtered);
  out_ << fmt::format("{} joined to a tunnel\n", s.join_hits);
  if (s.peer_drops_elsewhere)
    out_ << fmt::format(
        "{} VXLAN drops addressed to other nodes on this kernel (their namespaces): not counted "
        "per peer here\n",
        s.peer_drops_elsewhere);
  out_.flush();
}

}  // namespace vxt
