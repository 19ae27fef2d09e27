#include "cli/options.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <sstream>

#include "decode/net_format.hpp"
#include "kernel/cause_table.hpp"

namespace vxt {
namespace {

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// Flags every command shares: where to look and how to print.
void add_target_options(CLI::App& app, Options& o, bool with_output = true) {
  app.add_option("-i,--iface", o.tracer.ifaces,
                 "Underlay device to watch (repeatable; default: the default-route device)");
  app.add_option("--vxlan-dev", o.tracer.vxlan_dev, "VXLAN device (Flannel: flannel.1)")
      ->capture_default_str();
  app.add_option("--vxlan-port", o.tracer.vxlan_port, "VXLAN UDP port (Flannel: 8472)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  if (with_output)
    app.add_option("-o,--output", o.output, "Output format")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--node", o.tracer.node, "Node name in events (default: hostname)");
  app.add_option("--log-level", o.log_level, "Log level on stderr")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
}

// Bounds follow from memory: the ring buffer is one allocation, the join's slots are 64
// bytes on every CPU; past these a value is a typo, not a plan.
constexpr unsigned long kMaxRingbufKib = 1ul << 20;  // 1 GiB
constexpr unsigned long kMaxJoinSlots = 1ul << 20;   // 64 MiB per CPU
constexpr double kMaxSeconds = 365.0 * 24 * 3600;    // a year: beyond, timers overflow

CLI::Validator power_of_two_in(unsigned long min, unsigned long max) {
  return CLI::Validator(
      [min, max](std::string& s) {
        errno = 0;
        char* end = nullptr;
        unsigned long v = std::strtoul(s.c_str(), &end, 10);
        bool ok = errno == 0 && end && *end == 0 && v >= min && v <= max && (v & (v - 1)) == 0;
        return ok ? std::string{}
                  : "must be a power of two from " + std::to_string(min) + " to " +
                        std::to_string(max);
      },
      "POW2");
}

// A finite number (NaN passes CLI11's own Range checks) within [min, max]; min excluded when
// !inclusive.
CLI::Validator finite_in(double min, double max, bool inclusive, const std::string& what) {
  return CLI::Validator(
      [=](std::string& s) {
        char* end = nullptr;
        double v = std::strtod(s.c_str(), &end);
        bool ok = end && end != s.c_str() && *end == 0 && std::isfinite(v) &&
                  (inclusive ? v >= min : v > min) && v <= max;
        return ok ? std::string{}
                  : fmt::format("must be {} {} {:g} and <= {:g}", what, inclusive ? ">=" : ">", min,
                                max);
      },
      "NUMBER");
}

CLI::Validator seconds(double min, bool inclusive = true) {
  return finite_in(min, kMaxSeconds, inclusive, "a number of seconds");
}
struct TraceFlags {
  std::string causes = "default", mode = "auto";
};

// What the trace session and the agent share: how drops are captured and streamed.
void add_capture_options(CLI::App& app, Options& o, TraceFlags& f) {
  app.add_option("--causes", f.causes,
                 "Causes to stream as events, comma separated: checksum,rp_filter,conntrack,"
                 "netfilter,vxlan,other,background, or all, or default (all but background). "
                 "A netfilter drop by a rule matching conntrack state INVALID is conntrack's. "
                 "Every drop is counted regardless.")
      ->capture_default_str();
  app.add_option("--ringbuf-kib", o.tracer.ringbuf_kib,
                 "Ring buffer size in KiB (power of two, >= 4)")
      ->capture_default_str()
      ->check(power_of_two_in(4, kMaxRingbufKib));
  app.add_option("--join-slots", o.tracer.join_slots,
                 "Tunnel-join slots per CPU (power of two, >= 64; 64 bytes each): how many recent "
                 "packets per CPU a later drop can still be joined to its tunnel")
      ->capture_default_str()
      ->check(power_of_two_in(64, kMaxJoinSlots));
  app.add_option("--bpf-event-rate", o.tracer.event_rate,
                 "Stream at most N drop events per second from the kernel (per node, spread over "
                 "the CPUs; 0: no limit). Drops over it are still counted and attributed exactly")
      ->capture_default_str();
  app.add_option("--attach-mode", f.mode, "tc attachment: auto (tcx on Linux >= 6.6, else clsact)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "tcx", "clsact"}));
}

// What the trace and the agent share about the dropped packets' bytes.
void add_packet_options(CLI::App& app, Options& o) {
  app.add_option("--filter", o.filter,
                 "Stream (and capture) only drops whose packet, as dropped (outer IPv4 header "
                 "while still encapsulated), matches this pcap-filter expression (tcpdump's "
                 "language). Every drop is still counted");
  app.add_option("--filter-inner", o.filter_inner,
                 "Stream (and capture) only drops whose tunnelled packet (inside VXLAN, or as "
                 "decapsulated) matches this pcap-filter expression");
  app.add_option("--snaplen", o.snaplen, "Bytes of each packet --pcap writes")
      ->capture_default_str()
      ->check(CLI::Range(20u, static_cast<uint32_t>(VXT_CAPTURE_MAX)));
}

void add_trace_options(CLI::App& app, Options& o, TraceFlags& f) {
  app.add_option("--pcap", o.pcap,
                 "Write every streamed drop as pcapng (- for stdout, then events go to stderr's "
                 "log only): its bytes from the network header, cause and checksum verdict in "
                 "the packet comment. Checksum drops get a verdict in the events too");
  add_packet_options(app, o);
  app.add_flag(
      "--stack", o.tracer.stack,
      "Each streamed drop's kernel stack, symbolized (costs ~2 us a drop: off by default)");
  app.add_option("-d,--duration", o.duration_s, "Seconds to run (default: until SIGINT/SIGTERM)")
      ->check(seconds(0));
  app.add_option("--interval", o.interval_s, "Also print a summary every N seconds")
      ->check(seconds(0));
  add_capture_options(app, o, f);
}

CLI::App* add_agent_command(CLI::App& app, Options& o, TraceFlags& f) {
  auto* agent = app.add_subcommand(
      "agent",
      "Run as a node agent until SIGTERM: follow the devices as they come and go, serve "
      "Prometheus /metrics, /healthz and /readyz, stream bounded JSON lines");
  add_target_options(*agent, o, false);
  add_capture_options(*agent, o, f);
  auto& a = o.agent;
  agent->add_option("--listen", a.listen, "HTTP address for /metrics /healthz /readyz")
      ->capture_default_str();
  agent->add_option("--events", a.events, "JSON lines: - (stdout), none, or a file to append to")
      ->capture_default_str();
  agent->add_option("--interval", o.interval_s, "Seconds between summary lines (0: only at exit)")
      ->capture_default_str()
      ->check(seconds(0));
  agent->add_option("--events-window", a.window_s, "Seconds over which repeats of a flow fold")
      ->capture_default_str()
      ->check(seconds(0, false));
  agent->add_option("--events-rate", a.rate, "JSON lines a second, on average")
      ->capture_default_str()
      ->check(finite_in(1e-3, 1e9, true, "a rate"));
  agent->add_option("--events-burst", a.burst, "JSON lines at once")
      ->capture_default_str()
      ->check(finite_in(1.0, 1e9, true, "a count"));
  agent->add_option("--events-max-flows", a.max_flows, "Distinct flows kept per window")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  agent
      ->add_option("--metrics-max-peers", a.max_peers,
                   "Peers with their own series in /metrics (most drops first)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 4096u));
  agent
      ->add_option("--pcap", o.pcap,
                   "Also write every drop that passes --filter as pcapng to this file (not "
                   "limited by --events-rate), rotated: PATH, PATH.1, ... (off by default)")
      ->check(CLI::Validator(
          [](std::string& s) {
            return s == "-" ? std::string("the agent writes a file (stdout carries its lines)")
                            : std::string{};
          },
          "PATH"));
  agent->add_option("--pcap-max-mib", a.pcap_max_mib, "MiB of one --pcap file before it rotates")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65536u));
  agent->add_option("--pcap-files", a.pcap_files, "--pcap files kept, the live one included")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  add_packet_options(*agent, o);
  return agent;
}

AttachMode attach_mode(const std::string& mode) {
  return mode == "tcx"      ? AttachMode::tcx
         : mode == "clsact" ? AttachMode::clsact
                            : AttachMode::automatic;
}

}  // namespace

std::variant<Options, CliExit> parse_cli(int argc, const char* const* argv) {
  Options o;
  TraceFlags flags;
  CLI::App app{
      "vxtrace: attribute packet drops on VXLAN overlays (Calico, Flannel) to their cause "
      "and tunnel. Without a command it traces drops live.",
      "vxtrace"};
  app.set_version_flag("--version", VXTRACE_VERSION);
  app.require_subcommand(0, 1);
  add_target_options(app, o);
  add_trace_options(app, o, flags);

  Options doctor_opts;
  doctor_opts.duration_s = 10;
  auto* doctor = app.add_subcommand(
      "doctor", "Check this node for the known causes of VXLAN packet loss and name the fix");
  add_target_options(*doctor, doctor_opts);
  doctor->add_option("-d,--duration", doctor_opts.duration_s, "Seconds of live drop evidence")
      ->capture_default_str()
      ->check(seconds(0));

  Options agent_opts;
  agent_opts.interval_s = 60;
  TraceFlags agent_flags;
  auto* agent = add_agent_command(app, agent_opts, agent_flags);

  std::ostringstream out, err;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    std::string text = err.str();
    // One line is enough to say what was wrong; --help goes to stdout whole.
    if (code != 0 && text.find('\n') != text.rfind('\n'))
      text = text.substr(0, text.find('\n') + 1);
    return CliExit{code, out.str(), text};
  }
  if (doctor->parsed()) {
    o = doctor_opts;
    o.command = Command::doctor;
    o.tracer.stream_causes = default_stream_mask();
  } else {
    if (agent->parsed()) {
      o = agent_opts;
      o.command = Command::agent;
      o.output = "json";
      flags = agent_flags;
    }
    auto mask = parse_cause_list(flags.causes);
    if (!mask) return CliExit{2, "", "--causes: " + mask.error().what() + "\n"};
    o.tracer.stream_causes = *mask;
    o.tracer.attach_mode = attach_mode(flags.mode);
  }
  // One device, one attachment: a name given twice would count every packet twice.
  for (size_t i = 0; i < o.tracer.ifaces.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (o.tracer.ifaces[i] == o.tracer.ifaces[j])
        return CliExit{2, "", "--iface " + o.tracer.ifaces[i] + ": given more than once\n"};
  o.tracer.node = escape_bytes(
      o.tracer.node.empty() ? hostname() : o.tracer.node);  // reaches terminals and labels
  // The filters read the packet's bytes, and doctor its checksum verdicts.
  o.tracer.capture = !o.pcap.empty() || !o.filter.empty() || !o.filter_inner.empty() ||
                     o.command == Command::doctor;
  return o;
}

}  // namespace vxt
