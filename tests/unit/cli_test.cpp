#include <gtest/gtest.h>

#include <vector>

#include "cli/options.hpp"
#include "kernel/cause_table.hpp"

namespace vxt {
namespace {

std::variant<Options, CliExit> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "vxtrace");
  return parse_cli(static_cast<int>(args.size()), args.data());
}

TEST(Cli, Defaults) {
  auto r = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& o = std::get<Options>(r);
  EXPECT_TRUE(o.tracer.ifaces.empty());
  EXPECT_EQ(o.tracer.vxlan_dev, "vxlan.calico");
  EXPECT_EQ(o.tracer.vxlan_port, 4789);
  EXPECT_EQ(o.output, "text");
  EXPECT_EQ(o.tracer.stream_causes, default_stream_mask());
  EXPECT_FALSE(o.tracer.node.empty());
}

// Events carry the packet's bytes only when something reads them: a capture, a filter, or the
// doctor's checksum verdicts; nothing else pays for the copy.
TEST(Cli, TheTracerCapturesPacketsOnlyForWhatReadsThem) {
  auto capture = [](std::vector<const char*> args) {
    auto r = parse(std::move(args));
    EXPECT_TRUE(std::holds_alternative<Options>(r));
    return std::get<Options>(r).tracer.capture;
  };
  EXPECT_FALSE(capture({}));
  EXPECT_FALSE(capture({"--stack", "-o", "json"}));
  EXPECT_TRUE(capture({"--pcap", "/tmp/x.pcapng"}));
  EXPECT_TRUE(capture({"--filter", "udp"}));
  EXPECT_TRUE(capture({"--filter-inner", "tcp port 80"}));
  EXPECT_TRUE(capture({"doctor"}));
  EXPECT_FALSE(capture({"agent"}));
  EXPECT_TRUE(capture({"agent", "--pcap", "/var/log/vxtrace/drops.pcapng"}));
}

TEST(Cli, AllFlags) {
  auto r = parse({"--iface",
                  "eth0",
                  "-i",
                  "eth1",
                  "--vxlan-dev",
                  "flannel.1",
                  "--vxlan-port",
                  "8472",
                  "-o",
                  "json",
                  "--duration",
                  "2.5",
                  "--causes",
                  "checksum,vxlan",
                  "--attach-mode",
                  "clsact",
                  "--node",
                  "n1",
                  "--ringbuf-kib",
                  "64",
                  "--join-slots",
                  "16384",
                  "--bpf-event-rate",
                  "5000"});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& o = std::get<Options>(r);
  EXPECT_EQ(o.tracer.ifaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(o.tracer.vxlan_dev, "flannel.1");
  EXPECT_EQ(o.tracer.vxlan_port, 8472);
  EXPECT_EQ(o.output, "json");
  EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
  EXPECT_EQ(o.tracer.stream_causes, (1u << VXT_CAUSE_CHECKSUM) | (1u << VXT_CAUSE_VXLAN));
  EXPECT_EQ(o.tracer.attach_mode, AttachMode::clsact);
  EXPECT_EQ(o.tracer.node, "n1");
  EXPECT_EQ(o.tracer.ringbuf_kib, 64u);
  EXPECT_EQ(o.tracer.join_slots, 16384u);
  EXPECT_EQ(o.tracer.event_rate, 5000u);
}

// Each bad value: nonzero exit and one line naming the flag.
TEST(Cli, BadValuesGiveOneLineErrors) {
  std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--output", "xml"}, "--output"},
      {{"--vxlan-port", "70000"}, "--vxlan-port"},
      {{"--duration", "-1"}, "--duration"},
      {{"--causes", "bogus"}, "bogus"},
      {{"--ringbuf-kib", "100"}, "power of two"},
      {{"--no-such-flag"}, "--no-such-flag"},
      {{"--join-slots", "32"}, "power of two from 64"},
      // Values past what memory or a timer can hold, and NaN, which CLI11's own ranges admit.
      {{"--ringbuf-kib", "4194304"}, "--ringbuf-kib"},
      {{"--join-slots", "67108864"}, "--join-slots"},
      {{"--interval", "1e300"}, "--interval"},
      {{"--duration", "nan"}, "--duration"},
      {{"--duration", "inf"}, "--duration"},
      {{"agent", "--events-window", "nan"}, "--events-window"},
      {{"agent", "--events-window", "0"}, "--events-window"},
      {{"doctor", "--duration", "nan"}, "--duration"},
      {{"agent", "--events-rate", "nan"}, "--events-rate"},
      {{"agent", "--events-rate", "inf"}, "--events-rate"},
      {{"agent", "--events-burst", "nan"}, "--events-burst"},
      {{"agent", "--events-rate", "5x"}, "--events-rate"},
      {{"-i", "eth0", "-i", "eth0"}, "given more than once"},
      {{"agent", "-i", "eth0", "--iface", "eth0"}, "given more than once"},
  };
  for (const auto& [args, needle] : cases) {
    auto r = parse(args);
    ASSERT_TRUE(std::holds_alternative<CliExit>(r)) << needle;
    const auto& e = std::get<CliExit>(r);
    EXPECT_NE(e.code, 0) << needle;
    EXPECT_NE(e.err.find(needle), std::string::npos) << e.err;
    EXPECT_EQ(e.err.find('\n'), e.err.size() - 1) << "one line: " << e.err;
  }
}

TEST(Cli, HelpExitsZeroOnStdout) {
  auto r = parse({"--help"});
  ASSERT_TRUE(std::holds_alternative<CliExit>(r));
  EXPECT_EQ(std::get<CliExit>(r).code, 0);
  EXPECT_NE(std::get<CliExit>(r).out.find("--vxlan-dev"), std::string::npos);
}

}  // namespace
}  // namespace vxt

namespace vxt {
namespace {

TEST(Cli, DoctorSubcommandHasItsOwnDefaults) {
  auto r = parse({"doctor", "--iface", "eth0"});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& o = std::get<Options>(r);
  EXPECT_EQ(o.command, Command::doctor);
  EXPECT_EQ(o.tracer.ifaces, std::vector<std::string>{"eth0"});
  EXPECT_DOUBLE_EQ(o.duration_s, 10);
}

}  // namespace
}  // namespace vxt
