#include "modes/agent/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"
#include "decode/self_counters.hpp"
#include "kernel/cause_table.hpp"

namespace vxt::agent {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes one family at a time: HELP and TYPE once, then its samples.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename T>
  void sample(const Labels& labels, T value) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i)
        out_ += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first,
                            escape_label(labels[i].second));
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string name_, out_;
};

// Peers whose series are exported: the worst first, at most max_peers (Summary's order).
std::vector<const PeerSummary*> exported_peers(const Summary& s, size_t max_peers) {
  std::vector<const PeerSummary*> out;
  for (const auto& p : s.peers)
    if (out.size() < max_peers) out.push_back(&p);
  return out;
}

void write_info(Exposition& e, const MetricsInput& in) {
  e.family("vxtrace_build_info", "gauge", "vxtrace version and the kernel it runs on; always 1.");
  e.sample({{"version", in.version}, {"kernel", in.kernel}}, 1);
  e.family("vxtrace_node_info", "gauge",
           "This node's name and underlay address(es), to join peer=\"<ip>\" to a node name.");
  for (const auto& ip : in.underlay_ips) e.sample({{"node", in.node}, {"underlay_ip", ip}}, 1);
  e.family("vxtrace_ready", "gauge", "1 when the drop tracepoint and the underlay are attached.");
  e.sample({}, in.ready ? 1 : 0);
}

void write_drops(Exposition& e, const MetricsInput& in) {
  e.family("vxtrace_drops_total", "counter",
           "Packets dropped on this node (every namespace), by vxtrace cause and kernel reason.");
  for (const auto& [key, n] : in.drops) e.sample({{"cause", key.first}, {"reason", key.second}}, n);
}

void write_rules(Exposition& e, const MetricsInput& in) {
  e.family("vxtrace_netfilter_rule_drops_total", "counter",
           "Drops by one netfilter rule since the agent started (its counter's rise), the most "
           "dropping rules first. conntrack_invalid=\"true\": conntrack's share of "
           "vxtrace_drops_total{cause=\"netfilter\"}.");
  size_t n = 0;
  for (const auto& t : in.netfilter_rules) {
    if (n++ == in.max_rules) break;
    const auto& r = t.rule;
    // netns and backend keep two namespaces' (or engines') FORWARD policies apart: one series
    // each, never a duplicate a scrape would reject.
    e.sample({{"family", r.family},
              {"table", r.table},
              {"chain", r.chain},
              {"handle", std::to_string(r.handle)},
              {"comment", r.comment.value_or("")},
              {"conntrack_invalid", r.ct_invalid ? "true" : "false"},
              {"backend", std::string(name(r.backend))},
              {"netns", std::to_string(t.netns)}},
             t.drops);
  }
}

void write_peers(Exposition& e, const MetricsInput& in) {
  auto peers = exported_peers(in.summary, in.max_peers);
  e.family("vxtrace_peers", "gauge",
           "Sending nodes (underlay addresses) seen, and how many have per-peer series here.");
  e.sample({{"state", "seen"}}, in.summary.peers.size());
  e.sample({{"state", "exported"}}, peers.size());
  e.family("vxtrace_peer_rx_packets_total", "counter",
           "VXLAN packets received from the peer at underlay tc ingress.");
  std::vector<std::string> names;
  names.reserve(peers.size());
  for (const auto* p : peers) names.push_back(ipv4_string(p->peer));
  for (size_t i = 0; i < peers.size(); ++i) e.sample({{"peer", names[i]}}, peers[i]->rx_packets);
  e.family("vxtrace_peer_rx_bytes_total", "counter", "Bytes of those packets.");
  for (size_t i = 0; i < peers.size(); ++i) e.sample({{"peer", names[i]}}, peers[i]->rx_bytes);
  e.family("vxtrace_peer_decapsulated_packets_total", "counter",
           "Of those, packets that reached the VXLAN device.");
  for (size_t i = 0; i < peers.size(); ++i) e.sample({{"peer", names[i]}}, peers[i]->decapsulated);
  e.family("vxtrace_peer_drops_total", "counter",
           "Drops of packets that came from the peer (outer or joined), by cause.");
  for (size_t i = 0; i < peers.size(); ++i) {
    for (uint8_t c = 0; c < VXT_CAUSE_COUNT; ++c) {
      auto cause = static_cast<Cause>(c);
      if (cause == Cause::background) continue;  // never attributed to a peer
      auto it = peers[i]->by_cause.find(cause);
      e.sample({{"peer", names[i]}, {"cause", std::string(name(cause))}},
               it == peers[i]->by_cause.end() ? 0 : it->second);
    }
  }
}

void write_self(Exposition& e, const MetricsInput& in) {
  for (const auto& k : kSelfCounters) {
    e.family(k.metric, "counter", k.help);
    e.sample({}, in.summary.*k.field);
  }
}

void write_devices(Exposition& e, const MetricsInput& in) {
  e.family("vxtrace_device_attached", "gauge",
           "1 when vxtrace's tc program is attached to the device, 0 while it is absent.");
  for (const auto& d : in.devices)
    e.sample({{"device", d.spec.name}, {"role", d.spec.overlay ? "overlay" : "underlay"}},
             d.ifindex != 0 ? 1 : 0);
  e.family("vxtrace_device_attachments_total", "counter",
           "Times the device was attached (re-created devices are re-attached).");
  for (const auto& d : in.devices) e.sample({{"device", d.spec.name}}, d.attaches);
  e.family("vxtrace_device_attach_failures_total", "counter", "Failed attach attempts.");
  for (const auto& d : in.devices) e.sample({{"device", d.spec.name}}, d.failures);
  e.family("vxtrace_link_resyncs_total", "counter",
           "Full re-reads of the link table after the kernel dropped link events.");
  e.sample({}, in.link_resyncs);
}

void write_stream(Exposition& e, const MetricsInput& in) {
  const auto& c = in.stream;
  e.family("vxtrace_stream_events_total", "counter",
           "Drop events read by the JSON stream, by what became of them.");
  e.sample({{"outcome", "written"}}, c.written);
  e.sample({{"outcome", "repeated"}}, c.repeated);
  e.sample({{"outcome", "suppressed_rate"}}, c.suppressed_rate);
  e.sample({{"outcome", "suppressed_keys"}}, c.suppressed_keys);
  e.family("vxtrace_stream_received_total", "counter", "Drop events read from the ring buffer.");
  e.sample({}, c.received);
  e.family("vxtrace_output_write_errors_total", "counter",
           "JSON lines the --events output refused (a full disk, a closed pipe): never written.");
  e.sample({}, c.write_errors);
}

void write_pcap(Exposition& e, const MetricsInput& in) {
  if (!in.pcap) return;
  const auto& c = in.pcap->files;
  e.family("vxtrace_pcap_packets_written_total", "counter",
           "Dropped packets written to the --pcap files (each file rotated and deleted in turn).");
  e.sample({}, c.written);
  e.family("vxtrace_pcap_write_errors_total", "counter",
           "Dropped packets --pcap could not write (a full disk, a vanished directory): never "
           "written.");
  e.sample({}, c.write_errors);
  e.family("vxtrace_pcap_rotations_total", "counter",
           "--pcap files closed at their size limit and moved to PATH.1.");
  e.sample({}, c.rotations);
}

void write_process(Exposition& e, const ProcessStats& p) {
  e.family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
  e.sample({}, p.cpu_seconds);
  e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  e.sample({}, p.resident_bytes);
  e.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  e.sample({}, p.virtual_bytes);
  e.family("process_start_time_seconds", "gauge", "Start time of the process since the epoch.");
  e.sample({}, p.start_time_s);
  e.family("process_open_fds", "gauge", "Number of open file descriptors.");
  e.sample({}, p.open_fds);
}

}  // namespace

std::string escape_label(const std::string& raw) {
  std::string out, v = escape_bytes(raw);  // label values must be UTF-8: device names are bytes
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

std::map<std::pair<std::string, std::string>, uint64_t> drops_by_cause_reason(
    const RawCounters& c, const DropReasons& reasons) {
  std::map<std::pair<std::string, std::string>, uint64_t> out;
  for (uint32_t slot = 0; slot < VXT_MAX_REASONS; ++slot) {
    for (uint32_t cause = 0; cause < VXT_CAUSE_COUNT; ++cause) {
      uint64_t n = c.drop_slots[vxt_drop_slot(slot, cause)];
      if (n == 0) continue;
      std::string reason = slot == VXT_REASON_OVERFLOW ? "SUBSYSTEM" : reasons.name(slot);
      out[{std::string(cause_name(cause)), reason}] += n;
    }
  }
  return out;
}

std::string render_metrics(const MetricsInput& in) {
  Exposition e;
  write_info(e, in);
  write_drops(e, in);
  write_rules(e, in);
  write_peers(e, in);
  write_self(e, in);
  write_devices(e, in);
  write_stream(e, in);
  write_pcap(e, in);
  write_process(e, in.process);
  return e.take();
}

}  // namespace vxt::agent
