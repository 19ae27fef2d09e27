#include "json_sink.hpp"

#include "net_format.hpp"

namespace vxt {

using json = nlohmann::ordered_json;

json to_json(const StartInfo& info) {
  json attached = json::array();
  for (const auto& a : info.attached)
    attached.push_back(
        {{"ifname", a.ifname}, {"hook", a.hook}, {"role", a.role}, {"prog_id", a.prog_id}});
  return {{"type", "start"},       {"schema", 1},       {"version", info.version},
          {"kernel", info.kernel}, {"node", info.node}, {"attached", attached}};
}

json to_json(const DropRecord& d, const std::string& node) {
  json flow = nullptr, tunnel = nullptr;
  if (d.flow) {
    flow = {{"src", d.flow->src},
            {"dst", d.flow->dst},
            {"proto", d.flow->proto},
            {"sport", d.flow->sport},
            {"dport", d.flow->dport}};
    if (!d.flow->tcp_flags.empty()) flow["tcp_flags"] = d.flow->tcp_flags;
  }
  if (d.tunnel) {
    tunnel = {{"peer", d.tunnel->peer},
              {"local", d.tunnel->local},
              {"vni", d.tunnel->vni},
              {"source", d.tunnel->source},
              {"rx_csum", d.tunnel->rx_csum}};
  }
  return {{"type", "drop"},     {"ts", rfc3339_ns(d.ts_unix_ns)},
          {"node", node},       {"cause", d.cause},
          {"reason", d.reason}, {"location", d.location},
          {"ifname", d.ifname}, {"ifindex", d.ifindex},
          {"netns", d.netns},   {"netns_source", d.netns_source},
          {"len", d.len},       {"ct_state", d.ct_state},
          {"flow", flow},       {"tunnel", tunnel}};
}

json to_json(const Summary& s) {
  json peers = json::array();
  for (const auto& p : s.peers) {
    peers.push_back({{"peer", p.peer},
                     {"rx_packets", p.rx_packets},
                     {"rx_bytes", p.rx_bytes},
                     {"decapsulated", p.decapsulated},
                     {"drops", p.drops},
                     {"drop_ratio", p.drop_ratio},
                     {"by_cause", p.by_cause}});
  }
  return {{"type", "summary"},
          {"final", s.final},
          {"elapsed_s", s.elapsed_s},
          {"drops", s.drops_by_cause},
          {"reasons", s.drops_by_reason},
          {"peers", peers},
          {"lost_events", s.lost_events},
          {"events", s.events},
          {"joined", s.join_hits},
          {"malformed_vxlan", s.malformed},
          {"peer_map_full", s.peer_map_full}};
}

void JsonSink::write(const json& j) {
  out_ << j.dump() << '\n';
  out_.flush();
}

void JsonSink::start(const StartInfo& info) { write(to_json(info)); }
void JsonSink::drop(const DropRecord& d) { write(to_json(d, node_)); }
void JsonSink::summary(const Summary& s) { write(to_json(s)); }

}  // namespace vxt
