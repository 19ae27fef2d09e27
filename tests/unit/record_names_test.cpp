// The names sinks give a typed DropRecord: the JSON schema's strings for every ABI value, and
// "unknown" (never a crash or an empty string) for a value a newer or damaged record carries.
#include "decode/record_names.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "decode/net_format.hpp"
#include "ipv4.hpp"
#include "kernel/cause_table.hpp"
#include "output/json_sink.hpp"

namespace vxt {
namespace {

TEST(RecordNames, EveryCauseHasTheCauseTablesNameAndNoOtherCauseShares) {
  std::set<std::string_view> seen;
  for (uint8_t c = 0; c < VXT_CAUSE_COUNT; ++c) {
    EXPECT_EQ(name(static_cast<Cause>(c)), cause_name(c));
    EXPECT_TRUE(seen.insert(name(static_cast<Cause>(c))).second) << int(c);
  }
  EXPECT_EQ(name(Cause::checksum), "checksum");
  EXPECT_EQ(name(Cause::rp_filter), "rp_filter");
}

TEST(RecordNames, ConntrackNetnsTunnelAndRxChecksumNamesAreTheSchemas) {
  EXPECT_EQ(name(CtState::none), "none");
  EXPECT_EQ(name(CtState::untracked), "untracked");
  EXPECT_EQ(name(CtState::unconfirmed), "new");
  EXPECT_EQ(name(CtState::confirmed), "confirmed");
  EXPECT_EQ(name(CtState::unknown), "unknown");
  EXPECT_EQ(name(NetnsSource::device), "device");
  EXPECT_EQ(name(NetnsSource::socket), "socket");
  EXPECT_EQ(name(NetnsSource::task), "task");
  EXPECT_EQ(name(TunnelSource::outer), "outer");
  EXPECT_EQ(name(TunnelSource::joined), "joined");
  EXPECT_EQ(name(RxCsum::unnecessary), "unnecessary");
  EXPECT_EQ(name(RxCsum::software), "software");
}

TEST(RecordNames, ValuesOutsideTheAbiAreUnknown) {
  EXPECT_EQ(name(static_cast<CtState>(77)), "unknown");
  EXPECT_EQ(name(static_cast<NetnsSource>(9)), "unknown");
  EXPECT_EQ(name(static_cast<RxCsum>(200)), "unknown");
  EXPECT_FALSE(name(static_cast<Cause>(99)).empty());
}

TEST(RecordNames, OutOfRangeValuesGiveTheSameLineOnBothJsonPaths) {
  DropRecord d;
  d.ts_unix_ns = 1'700'000'000'123'456'789;
  d.cause = static_cast<Cause>(99);
  d.ct_state = static_cast<CtState>(77);
  d.netns_source = static_cast<NetnsSource>(9);
  d.reason = "NOT_SPECIFIED";
  d.location = "kfree_skb_reason+0x1";
  d.tunnel = TunnelRecord{test::ip("192.0.2.1"), test::ip("192.0.2.2"), 7,
                          static_cast<TunnelSource>(3), static_cast<RxCsum>(200)};
  d.flow = FlowRecord{test::ip("10.0.0.1"), test::ip("10.0.0.2"), 47, 1, 2, 0x12};
  std::ostringstream out;
  JsonSink sink(out, "node");
  sink.drop(d);
  sink.flush();
  EXPECT_EQ(sink.fast_lines(), 1u);
  EXPECT_EQ(out.str(), to_json(d, "node").dump() + "\n");
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["ct_state"], "unknown");
  EXPECT_EQ(j["netns_source"], "unknown");
  EXPECT_EQ(j["tunnel"]["rx_csum"], "unknown");
  EXPECT_EQ(j["flow"]["proto"], "ip:47");
  EXPECT_FALSE(j["flow"].contains("tcp_flags")) << "flags are a TCP flow's only";
}

TEST(FormatIpv4, WritesWhatInetNtopWrites) {
  for (const char* s : {"0.0.0.0", "255.255.255.255", "10.0.0.1", "100.100.100.100", "1.20.255.9",
                        "192.0.2.254", "203.0.113.10"}) {
    char buf[INET_ADDRSTRLEN];
    uint32_t a = test::ip(s);
    ASSERT_STREQ(inet_ntop(AF_INET, &a, buf, sizeof(buf)), s);
    EXPECT_EQ(ipv4_string(a), s);
  }
}

}  // namespace
}  // namespace vxt
