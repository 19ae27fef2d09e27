// Command line: flags to a validated Options, or the exit code and text CLI11 produced.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "kernel/tc_attach.hpp"
#include "tracer/tracer_config.hpp"
#include "vxtrace/abi.h"

namespace vxt {

enum class Command { trace, doctor, agent };

// `vxtrace agent`: the long-running node agent (DaemonSet).
struct AgentOptions {
  std::string listen = ":9476";  // HTTP /metrics /healthz /readyz
  std::string events = "-";      // JSON lines: "-" stdout, "none", or a file (appended)
  double window_s = 5;           // aggregation window of repeated flows
  double rate = 100;             // JSON lines a second, on average
  double burst = 200;
  uint32_t max_flows = 1024;   // distinct flows per window
  uint32_t max_peers = 128;    // peers with per-peer series in /metrics
  uint32_t pcap_max_mib = 64;  // --pcap: size of one file
  uint32_t pcap_files = 4;     // --pcap: files kept, the live one included
};

struct Options {
  Command command = Command::trace;
  std::vector<std::string> ifaces;  // empty: the default-route device
  std::string vxlan_dev = "vxlan.calico";
  uint16_t vxlan_port = 4789;
  std::string output = "text";
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
  double interval_s = 0;  // 0: summary only at exit
  uint32_t stream_causes = 0;
  uint32_t ringbuf_kib = 1024;
  uint32_t join_slots = VXT_JOIN_SLOTS_DEFAULT;
  uint32_t event_rate = 0;  // 0: unlimited
  AttachMode attach_mode = AttachMode::automatic;
  std::string node;  // defaults to the hostname
  std::string log_level = "info";
  std::string pcap;                    // --pcap FILE: pcapng of drops (agent: rotated)
  uint32_t snaplen = VXT_CAPTURE_MAX;  // bytes of each packet written there
  std::string filter, filter_inner;    // pcap-filter expressions on the streamed drops
  bool stack = false;                  // --stack: each streamed drop's kernel stack
  AgentOptions agent;
};

struct CliExit {
  int code;
  std::string out, err;  // what to print on stdout / stderr
};

std::variant<Options, CliExit> parse_cli(int argc, const char* const* argv);

// The Tracer's part of the options.
TracerConfig tracer_config(const Options& o);

}  // namespace vxt
