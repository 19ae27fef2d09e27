#include <gtest/gtest.h>

#include "cli/options.hpp"

namespace vxt {
namespace {

std::variant<Options, CliExit> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "vxtrace");
  return parse_cli(static_cast<int>(args.size()), args.data());
}

TEST(CliAgent, DefaultsForADaemonSet) {
  auto r = parse({"agent"});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& o = std::get<Options>(r);
  EXPECT_EQ(o.command, Command::agent);
  EXPECT_EQ(o.agent.listen, ":9476");
  EXPECT_EQ(o.agent.events, "-");
  EXPECT_EQ(o.output, "json");
  EXPECT_EQ(o.interval_s, 60);
  EXPECT_EQ(o.agent.max_peers, 128u);
  EXPECT_NE(o.tracer.stream_causes, 0u);
}

TEST(CliAgent, FlagsReachTheOptions) {
  auto r =
      parse({"agent", "-i", "eth1", "--listen=127.0.0.1:1234", "--events=none", "--events-rate=5",
             "--events-burst=7", "--events-window=2", "--events-max-flows=9",
             "--metrics-max-peers=3", "--causes=checksum", "--attach-mode=clsact"});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& o = std::get<Options>(r);
  EXPECT_EQ(o.tracer.ifaces, std::vector<std::string>{"eth1"});
  EXPECT_EQ(o.agent.listen, "127.0.0.1:1234");
  EXPECT_EQ(o.agent.events, "none");
  EXPECT_EQ(o.agent.rate, 5);
  EXPECT_EQ(o.agent.burst, 7);
  EXPECT_EQ(o.agent.window_s, 2);
  EXPECT_EQ(o.agent.max_flows, 9u);
  EXPECT_EQ(o.agent.max_peers, 3u);
  EXPECT_EQ(o.tracer.attach_mode, AttachMode::clsact);
}

TEST(CliAgent, BadValuesAreOneLineErrors) {
  for (auto* bad :
       {"--events-rate=0", "--metrics-max-peers=99999", "--causes=bogus", "-o=json",
        "--pcap-max-mib=0", "--pcap-max-mib=65537", "--pcap-files=0", "--pcap-files=1001",
        "--pcap-files=x", "--snaplen=19", "--snaplen=1537", "--pcap=-"}) {
    auto r = parse({"agent", bad});
    ASSERT_TRUE(std::holds_alternative<CliExit>(r)) << bad;
    const auto& e = std::get<CliExit>(r);
    EXPECT_NE(e.code, 0) << bad;
    EXPECT_EQ(e.err.find('\n'), e.err.size() - 1) << "one line: " << e.err;
  }
}

TEST(CliAgent, PcapIsOffByDefaultAndRotates) {
  auto r = parse({"agent"});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& d = std::get<Options>(r);
  EXPECT_TRUE(d.pcap.empty());
  EXPECT_EQ(d.agent.pcap_max_mib, 64u);
  EXPECT_EQ(d.agent.pcap_files, 4u);
  EXPECT_EQ(d.snaplen, static_cast<uint32_t>(VXT_CAPTURE_MAX));
  EXPECT_TRUE(d.filter.empty() && d.filter_inner.empty());

  auto s = parse({"agent", "--pcap", "/var/log/vxtrace/drops.pcapng", "--pcap-max-mib=1",
                  "--pcap-files=1", "--snaplen=96", "--filter", "udp port 4789", "--filter-inner",
                  "tcp"});
  ASSERT_TRUE(std::holds_alternative<Options>(s));
  const auto& o = std::get<Options>(s);
  EXPECT_EQ(o.pcap, "/var/log/vxtrace/drops.pcapng");
  EXPECT_EQ(o.agent.pcap_max_mib, 1u);
  EXPECT_EQ(o.agent.pcap_files, 1u);
  EXPECT_EQ(o.snaplen, 96u);
  EXPECT_EQ(o.filter, "udp port 4789");
  EXPECT_EQ(o.filter_inner, "tcp");
}

}  // namespace
}  // namespace vxt
