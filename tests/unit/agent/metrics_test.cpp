#include "modes/agent/metrics.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

#include "decode/self_counters.hpp"
#include "ipv4.hpp"
#include "output/json_sink.hpp"

namespace vxt::agent {
namespace {

PeerSummary peer(const char* ip, uint64_t rx, uint64_t checksum) {
  PeerSummary p;
  p.peer = test::ip(ip);
  p.rx_packets = rx;
  p.rx_bytes = rx * 100;
  p.decapsulated = rx - checksum;
  p.drops = checksum;
  if (checksum) p.by_cause[Cause::checksum] = checksum;
  return p;
}

MetricsInput input() {
  MetricsInput in;
  in.version = "0.1.0";
  in.kernel = "6.18.0";
  in.node = "node-b";
  in.underlay_ips = {"192.0.2.2"};
  in.drops[{"checksum", "UDP_CSUM"}] = 37;
  in.summary.peers = {peer("192.0.2.1", 1000, 37), peer("192.0.2.3", 1000, 0)};
  in.summary.lost_events = 4;
  DeviceState d;
  d.spec = {"vxlan.calico", true};
  d.ifindex = 3;
  d.attaches = 2;
  in.devices = {d};
  in.ready = true;
  in.stream.write_errors = 3;
  return in;
}

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, ExactCountersWithConventionalNames) {
  auto t = render_metrics(input());
  EXPECT_TRUE(has(t, R"(vxtrace_drops_total{cause="checksum",reason="UDP_CSUM"} 37)")) << t;
  EXPECT_TRUE(has(t, R"(vxtrace_peer_rx_packets_total{peer="192.0.2.1"} 1000)"));
  EXPECT_TRUE(has(t, R"(vxtrace_peer_drops_total{peer="192.0.2.1",cause="checksum"} 37)"));
  EXPECT_TRUE(has(t, R"(vxtrace_peer_drops_total{peer="192.0.2.3",cause="checksum"} 0)"))
      << "zero series exist, so rate() sees the first drop";
  EXPECT_TRUE(has(t, R"(vxtrace_peer_decapsulated_packets_total{peer="192.0.2.1"} 963)"));
  EXPECT_TRUE(has(t, "vxtrace_lost_events_total 4"));
  EXPECT_TRUE(has(t, R"(vxtrace_device_attached{device="vxlan.calico",role="overlay"} 1)"));
  EXPECT_TRUE(has(t, R"(vxtrace_device_attachments_total{device="vxlan.calico"} 2)"));
  EXPECT_TRUE(has(t, R"(vxtrace_build_info{version="0.1.0",kernel="6.18.0"} 1)"));
  EXPECT_TRUE(has(t, R"(vxtrace_node_info{node="node-b",underlay_ip="192.0.2.2"} 1)"));
  EXPECT_TRUE(has(t, "vxtrace_ready 1"));
  EXPECT_TRUE(has(t, "vxtrace_output_write_errors_total 3")) << "lines never written are said";
  EXPECT_TRUE(has(t, "# TYPE vxtrace_drops_total counter"));
  EXPECT_EQ(t.find("background"), std::string::npos) << "never a per-peer cause";
}

// The summary line and /metrics read the same table: each self counter once in each, with the
// same value, and the JSON keys and metric names are the ones users' queries already use.
TEST(Metrics, EverySelfCounterIsInTheSummaryLineAndTheExpositionWithOneValue) {
  auto in = input();
  uint64_t v = 1000;
  for (const auto& k : kSelfCounters) in.summary.*k.field = ++v;
  auto t = render_metrics(in);
  auto j = to_json(in.summary);
  std::set<std::string_view> keys, metrics;
  v = 1000;
  for (const auto& k : kSelfCounters) {
    ++v;
    EXPECT_TRUE(keys.insert(k.json).second) << k.json;
    EXPECT_TRUE(metrics.insert(k.metric).second) << k.metric;
    EXPECT_TRUE(k.metric.ends_with("_total")) << k.metric;
    EXPECT_EQ(j.at(std::string(k.json)), v) << k.json;
    EXPECT_TRUE(has(t, std::string(k.metric) + " " + std::to_string(v))) << k.metric;
    EXPECT_TRUE(has(t, "# TYPE " + std::string(k.metric) + " counter")) << k.metric;
  }
  for (const char* key : {"lost_events", "events", "joined", "malformed_vxlan", "malformed_records",
                          "peer_map_full", "events_rate_limited", "peer_drops_elsewhere"})
    EXPECT_TRUE(keys.contains(key)) << key;
  EXPECT_TRUE(metrics.contains("vxtrace_malformed_vxlan_packets_total"));
  EXPECT_TRUE(metrics.contains("vxtrace_malformed_records_total"));
}

TEST(Metrics, PcapCountersOnlyWithPcap) {
  auto in = input();
  EXPECT_EQ(render_metrics(in).find("vxtrace_pcap_"), std::string::npos) << "--pcap is off";
  PcapCounters c;
  c.files.written = 1200;
  c.files.write_errors = 5;
  c.files.rotations = 2;
  in.pcap = c;
  auto t = render_metrics(in);
  EXPECT_TRUE(has(t,
                  "# HELP vxtrace_pcap_packets_written_total Dropped packets written to the "
                  "--pcap files (each file rotated and deleted in turn)."))
      << t;
  EXPECT_TRUE(has(t, "# TYPE vxtrace_pcap_packets_written_total counter"));
  EXPECT_TRUE(has(t, "vxtrace_pcap_packets_written_total 1200"));
  EXPECT_TRUE(has(t, "# TYPE vxtrace_pcap_write_errors_total counter"));
  EXPECT_TRUE(has(t, "vxtrace_pcap_write_errors_total 5"));
  EXPECT_TRUE(has(t, "# TYPE vxtrace_pcap_rotations_total counter"));
  EXPECT_TRUE(has(t, "vxtrace_pcap_rotations_total 2"));
}

TEST(Metrics, PeerSeriesAreCappedKeepingTheWorst) {
  auto in = input();
  in.max_peers = 1;
  auto t = render_metrics(in);
  EXPECT_TRUE(has(t, R"(vxtrace_peer_rx_packets_total{peer="192.0.2.1"} 1000)"));
  EXPECT_EQ(t.find(R"(peer="192.0.2.3")"), std::string::npos);
  EXPECT_TRUE(has(t, R"(vxtrace_peers{state="seen"} 2)"));
  EXPECT_TRUE(has(t, R"(vxtrace_peers{state="exported"} 1)"));
}

TEST(Metrics, LabelValuesAreEscaped) {
  // The value is escape_bytes() of the name (UTF-8, no control characters), label-escaped.
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\\\\\c\\\\x0ad");
  EXPECT_EQ(escape_label("\xff\xfe"), "\\\\xff\\\\xfe");
  auto in = input();
  in.node = "we\"ird";
  EXPECT_NE(render_metrics(in).find(R"(node="we\"ird")"), std::string::npos);
}

TEST(Metrics, DropsByCauseAndReasonFromTheRawSlots) {
  RawCounters c;
  c.drop_slots[vxt_drop_slot(2, VXT_CAUSE_CHECKSUM)] = 5;
  c.drop_slots[vxt_drop_slot(VXT_REASON_OVERFLOW, VXT_CAUSE_OTHER)] = 1;
  auto reasons = DropReasons::from_entries({{2, "UDP_CSUM"}});
  auto m = drops_by_cause_reason(c, reasons);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ((m[{"checksum", "UDP_CSUM"}]), 5u);
  EXPECT_EQ((m[{"other", "SUBSYSTEM"}]), 1u);
}

TEST(Metrics, MalformedCountsAgreeWithTheJsonSummary) {
  // Packets to the VXLAN port that did not parse, and ring records that failed validation:
  // two counts, each under one name in /metrics and in the summary line.
  auto in = input();
  in.summary.malformed = 60;
  in.summary.malformed_records = 2;
  auto t = render_metrics(in);
  EXPECT_TRUE(has(t, "vxtrace_malformed_vxlan_packets_total 60")) << t;
  EXPECT_TRUE(has(t, "vxtrace_malformed_records_total 2")) << t;
  auto j = to_json(in.summary);
  EXPECT_EQ(j["malformed_vxlan"], 60);
  EXPECT_EQ(j["malformed_records"], 2);
}

}  // namespace
}  // namespace vxt::agent
