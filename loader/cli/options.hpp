// Command line: flags to a validated Options, or the exit code and text CLI11 produced.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

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
  // What the Tracer gets, as parsed: devices, causes, ring and join sizes, --stack, the node
  // name (the hostname unless --node). parse_cli() sets its `capture` from the flags below.
  TracerConfig tracer;
  std::string output = "text";
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
  double interval_s = 0;  // 0: summary only at exit
  std::string log_level = "info";
  std::string pcap;                    // --pcap FILE: pcapng of drops (agent: rotated)
  uint32_t snaplen = VXT_CAPTURE_MAX;  // bytes of each packet written there
  std::string filter, filter_inner;    // pcap-filter expressions on the streamed drops
  AgentOptions agent;
};

struct CliExit {
  int code;
  std::string out, err;  // what to print on stdout / stderr
};

std::variant<Options, CliExit> parse_cli(int argc, const char* const* argv);

}  // namespace vxt
