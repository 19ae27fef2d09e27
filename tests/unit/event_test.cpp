// Decoding a BPF event and writing it as JSON schema v1 / text.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "decode/event_decoder.hpp"
#include "decode/net_format.hpp"
#include "ipv4.hpp"
#include "kernel/ring_reader.hpp"
#include "output/json_sink.hpp"
#include "output/text_sink.hpp"

namespace vxt {
namespace {

using test::ip;

class EventTest : public ::testing::Test {
 protected:
  EventTest() {
    std::istringstream in("ffffffff81001000 t udp_queue_rcv_one_skb\n");
    syms_ = Symbolizer::from_stream(in);
  }
  vxt_drop_event outer_csum_drop() const {
    vxt_drop_event e{};
    e.hdr = {VXT_EVENT_DROP, sizeof(e), 1, 5'000'000'000};
    e.location = 0xffffffff81001153;
    e.reason = 11;
    e.netns = 4026532246;
    e.ifindex = 2;
    e.pkt_len = 258;
    e.cause = VXT_CAUSE_CHECKSUM;
    e.ct_state = VXT_CT_NONE;
    e.netns_source = VXT_NETNS_DEVICE;
    std::strcpy(e.ifname, "eth0");
    e.flow = {ip("10.244.1.10"), ip("10.244.2.10"), htons(5000), htons(53), htons(7), 17, 0, 1, {}};
    e.tunnel = {ip("192.0.2.1"),  ip("192.0.2.2"),      4096, htons(40000),
                VXT_TUNNEL_OUTER, VXT_RX_CSUM_SOFTWARE, 2};
    return e;
  }
  DropReasons reasons_ = DropReasons::from_entries({{11, "UDP_CSUM"}});
  Symbolizer syms_;
  EventDecoder decoder_{reasons_, syms_, 1'700'000'000'000'000'000};
};

TEST_F(EventTest, DropBecomesSchemaV1Json) {
  auto j = to_json(decoder_.decode(outer_csum_drop()), "node-b");
  auto expected = nlohmann::json::parse(R"({
    "type": "drop", "ts": "2023-11-14T22:13:25.000000000Z", "node": "node-b",
    "cause": "checksum", "reason": "UDP_CSUM", "location": "udp_queue_rcv_one_skb+0x153",
    "ifname": "eth0", "ifindex": 2, "netns": 4026532246, "netns_source": "device", "len": 258, "ct_state": "none",
    "flow": {"src": "10.244.1.10", "dst": "10.244.2.10", "proto": "udp", "sport": 5000, "dport": 53},
    "tunnel": {"peer": "192.0.2.1", "local": "192.0.2.2", "vni": 4096, "source": "outer",
               "rx_csum": "software"}, "rule": null})");
  EXPECT_EQ(nlohmann::json::parse(j.dump()), expected);
  EXPECT_EQ(j.begin().key(), "type");  // pipelines route on the first key
}

TEST_F(EventTest, UntunnelledDropHasNullTunnelAndIcmpFields) {
  auto e = outer_csum_drop();
  e.tunnel = {};
  e.flow.proto = 1;
  e.flow.sport = 8 << 8;  // echo request, code 0
  e.flow.dport = htons(77);
  auto j = to_json(decoder_.decode(e), "n");
  EXPECT_TRUE(j["tunnel"].is_null());
  EXPECT_EQ(j["flow"]["proto"], "icmp");
  EXPECT_EQ(j["flow"]["sport"], 8 << 8);
  EXPECT_EQ(j["flow"]["dport"], 77);
}

TEST_F(EventTest, TcpFlagsAndTextLine) {
  auto e = outer_csum_drop();
  e.flow.proto = 6;
  e.flow.tcp_flags = 0x03;  // SYN|FIN
  auto d = decoder_.decode(e);
  EXPECT_EQ(to_json(d, "n")["flow"]["tcp_flags"], "FS");
  auto line = format_drop_line(d);
  EXPECT_NE(line.find("checksum"), std::string::npos);
  EXPECT_NE(line.find("tcp 10.244.1.10:5000 > 10.244.2.10:53 [FS]"), std::string::npos);
  EXPECT_NE(line.find("via 192.0.2.1 vni 4096 (outer)"), std::string::npos);
}

TEST_F(EventTest, RingRecordsAreValidatedBeforeUse) {
  auto e = outer_csum_drop();
  EXPECT_TRUE(RingReader::valid_record(&e, sizeof(e)));
  EXPECT_FALSE(RingReader::valid_record(&e, sizeof(e.hdr) - 1));
  EXPECT_FALSE(RingReader::valid_record(&e, sizeof(e) - 8));
  e.hdr.type = 99;
  EXPECT_FALSE(RingReader::valid_record(&e, sizeof(e)));
}

// Device names are bytes: 0xff 0xfe, or an ESC, must neither kill the JSON sink (invalid
// UTF-8) nor reach a terminal raw; nothing is lost either.
TEST_F(EventTest, DeviceNamesAreBytes) {
  auto e = outer_csum_drop();
  std::memcpy(e.ifname, "\xff\xfe\x1b[2J\\", 8);
  auto d = decoder_.decode(e);
  EXPECT_EQ(d.ifname, "\\xff\\xfe\\x1b[2J\\\\");
  std::ostringstream out;
  {
    JsonSink sink(out, "n");
    sink.drop(d);
  }
  EXPECT_EQ(nlohmann::json::parse(out.str())["ifname"], d.ifname);
  EXPECT_EQ(format_drop_line(d).find('\x1b'), std::string::npos);
  EXPECT_EQ(escape_bytes("eth0"), "eth0");
}

TEST_F(EventTest, FastAndGeneralJsonAgreeWithAndWithoutARule) {
  auto d = decoder_.decode(outer_csum_drop());
  for (bool with_rule : {false, true}) {
    if (with_rule) d.rule = RuleRecord{"ip", "filter", "cali-tw-x", 57, "cali:a \x01b", false};
    std::ostringstream out;
    JsonSink(out, "n").drop(d);
    EXPECT_EQ(out.str(), to_json(d, "n").dump() + "\n");
  }
  EXPECT_EQ(to_json(d, "n")["rule"]["handle"], 57);
  EXPECT_TRUE(to_json(d, "n")["rule"]["comment"].is_string());
}

// Any byte nlohmann escapes, at any position of a string, sends the line through nlohmann;
// plain ones of any length do not.
TEST_F(EventTest, EveryEscapedByteIsFoundWherever) {
  auto base = decoder_.decode(outer_csum_drop());
  for (unsigned char bad : {0x00, 0x01, 0x1f, 0x22, 0x5c, 0x7f})  // bytes >= 0x80 arrive escaped
    for (size_t len = 1; len <= 24; ++len)
      for (size_t at = 0; at <= len; ++at) {
        auto d = base;
        d.location = std::string(len, 'a');
        if (at < len) d.location[at] = static_cast<char>(bad);
        std::ostringstream out;
        JsonSink sink(out, "n");
        sink.drop(d);
        sink.flush();
        EXPECT_EQ(sink.fast_lines(), at == len ? 1u : 0u) << int(bad) << " " << len << " " << at;
        EXPECT_EQ(out.str(), to_json(d, "n").dump() + "\n");
      }
  for (unsigned char good : {0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7e}) {
    auto d = base;
    d.location = std::string(17, static_cast<char>(good));
    std::ostringstream out;
    JsonSink sink(out, "n");
    sink.drop(d);
    EXPECT_EQ(sink.fast_lines(), 1u) << int(good);
  }
}

// The hand-written line is byte for byte nlohmann's, whatever evidence a drop carries.
TEST_F(EventTest, FastJsonIsByteExactWithEvidence) {
  auto base = decoder_.decode(outer_csum_drop());
  CsumVerdict verified{true, "", "outer", "udp", 0x1a2b, 0xf00d, "pseudo_header_only"};
  CsumVerdict unverified{false, "truncated: 96 of 600 bytes captured", "inner", "", 0, 0, ""};
  std::vector<std::optional<RuleRecord>> rules = {
      std::nullopt, RuleRecord{"ip", "filter", "cali-tw-x", 57, "cali:abc", true},
      RuleRecord{"ip", "raw", "PREROUTING", 3, std::nullopt, false}};
  for (const auto& rule : rules)
    for (const auto& csum :
         {std::optional<CsumVerdict>{}, std::optional(verified), std::optional(unverified)})
      for (bool stack : {false, true}) {
        auto d = base;
        d.rule = rule;
        d.csum = csum;
        if (stack) d.stack = {"kfree_skb_reason+0x4d", "udp_queue_rcv_one_skb+0x153", "0xffffa001"};
        std::ostringstream out;
        {
          JsonSink sink(out, "n");
          sink.drop(d);
          EXPECT_EQ(sink.fast_lines(), 1u) << "plain strings take the fast path";
        }
        EXPECT_EQ(out.str(), to_json(d, "n").dump() + "\n");
      }
}

TEST(JsonSink, WritesOneFlushedLinePerObject) {
  std::ostringstream out;
  JsonSink sink(out, "n");
  sink.start({"0.1.0", "6.18", "n", {{"eth0", "tcx", "underlay"}}});
  Summary s;
  s.final = true;
  sink.summary(s);
  std::istringstream lines(out.str());
  std::string line;
  std::getline(lines, line);
  auto start = nlohmann::json::parse(line);
  EXPECT_EQ(start["type"], "start");
  EXPECT_EQ(start["attached"][0]["hook"], "tcx");
  std::getline(lines, line);
  auto summary = nlohmann::json::parse(line);
  EXPECT_EQ(summary["type"], "summary");
  EXPECT_EQ(summary["lost_events"], 0);
  EXPECT_TRUE(summary["peers"].is_array());
}

}  // namespace
}  // namespace vxt
