#include "modes/agent/run_agent.hpp"

#include <spdlog/spdlog.h>

#include "decode/net_format.hpp"
#include "evidence/drop_filter.hpp"
#include "evidence/pcap_sink.hpp"
#include "evidence/rotating_pcap.hpp"
#include "modes/agent/agent_state.hpp"
#include "modes/agent/device_follower.hpp"
#include "modes/agent/event_stream.hpp"
#include "modes/agent/http_server.hpp"
#include "modes/agent/line_output.hpp"
#include "modes/agent/link_watch.hpp"
#include "modes/agent/node_addresses.hpp"
#include "output/json_sink.hpp"
#include "sys/interfaces.hpp"
#include "sys/stop_signals.hpp"
#include "tracer/run_loop.hpp"

namespace vxt::agent {
namespace {

using json = nlohmann::ordered_json;

constexpr auto kRetry = std::chrono::seconds(1);       // re-try failed attaches this often
constexpr auto kRulesEvery = std::chrono::seconds(5);  // netfilter rule totals for /metrics

// Devices followed by name. Without --iface the underlay is the default-route device as
// found at start (a node's uplink does not change name).
std::vector<DeviceSpec> device_specs(const Options& o) {
  std::vector<DeviceSpec> specs;
  auto names = o.tracer.ifaces;
  if (names.empty()) {
    auto dev = default_route_device();
    if (!dev) throw FatalError("no default route: name the underlay with --iface");
    names.push_back(*dev);
  }
  specs.reserve(names.size() + 1);
  for (const auto& n : names) specs.push_back({n, n == o.tracer.vxlan_dev});
  if (std::find(names.begin(), names.end(), o.tracer.vxlan_dev) == names.end())
    specs.push_back({o.tracer.vxlan_dev, true});
  return specs;
}

std::vector<std::string> underlay_names(const std::vector<DeviceSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs)
    if (!s.overlay) out.push_back(s.name);
  return out;
}

bool underlays_attached(const std::vector<DeviceState>& devices) {
  for (const auto& d : devices)
    if (!d.spec.overlay && d.ifindex == 0) return false;
  return true;
}

json attach_line(const AttachChange& c, const std::string& node) {
  const auto& d = c.device;
  return {{"type", "attach"},
          {"ts", rfc3339_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count())},
          {"node", node},
          {"ifname", d.spec.name},
          {"role", d.spec.overlay ? "overlay" : "underlay"},
          {"attached", c.attached},
          {"ifindex", d.ifindex},
          {"hook", c.attached ? d.hook : ""},
          {"prog_id", d.prog_id},
          {"why", c.why}};
}

json stream_json(const StreamCounters& c) {
  return {{"received", c.received},
          {"written", c.written},
          {"repeated", c.repeated},
          {"suppressed_rate", c.suppressed_rate},
          {"suppressed_keys", c.suppressed_keys},
          {"write_errors", c.write_errors}};
}

json pcap_json(const std::string& path, const PcapCounters& c) {
  return {{"path", path},
          {"received", c.received},
          {"written", c.files.written},
          {"bytes", c.files.bytes},
          {"files_rotated", c.files.rotations},
          {"rotated_out", c.files.rotated_out},
          {"write_errors", c.files.write_errors},
          {"no_bytes", c.no_bytes}};
}

std::unique_ptr<RotatingPcap> open_pcap(const Options& o) {
  if (o.pcap.empty()) return nullptr;
  return must(RotatingPcap::open(o.pcap, o.snaplen,
                                 {uint64_t{o.agent.pcap_max_mib} << 20, o.agent.pcap_files}));
}

void log_change(const AttachChange& c) {
  const auto& d = c.device;
  if (c.attached)
    spdlog::info("attached to {} (ifindex {}, {}): {}", d.spec.name, d.ifindex, d.hook, c.why);
  else if (c.why == "stopping")
    spdlog::info("detached from {}", d.spec.name);
  else
    spdlog::warn("{} not attached: {}", d.spec.name, c.why);
}

MetricsInput build_info(const StartInfo& info, const AgentOptions& a) {
  MetricsInput in;
  in.max_peers = a.max_peers;
  in.version = info.version;
  in.kernel = info.kernel;
  in.node = info.node;
  return in;
}

// The agent's parts, built in dependency order and torn down in reverse.
class Agent {
 public:
  explicit Agent(const Options& o);
  void run();
  void stop();

 private:
  void start_line();
  void summary_line(bool final);
  void publish();
  void on_drop(const DropRecord& d);
  std::optional<PcapCounters> pcap_counters() const {
    if (!pcap_) return std::nullopt;
    return PcapCounters{pcap_->counters().offered + pcap_no_bytes_, pcap_no_bytes_,
                        pcap_->counters()};
  }
  StreamCounters stream_counters() const {
    auto c = stream_.counters();
    c.write_errors = out_->write_errors();
    return c;
  }

  const Options& o_;
  std::vector<DeviceSpec> specs_;
  std::unique_ptr<LineOutput> out_;
  EventStream stream_;
  // Both before the Tracer: a bad filter or an unwritable --pcap is said before any loading.
  DropFilter filter_;
  std::unique_ptr<RotatingPcap> pcap_;
  uint64_t pcap_no_bytes_ = 0;  // drops for the capture that carried no bytes to write
  std::unique_ptr<Tracer> tracer_;
  LinkWatch watch_;
  bool started_ = false;
  DeviceFollower follower_;
  AgentState state_;
  std::unique_ptr<HttpServer> http_;
  Clock::time_point t0_ = Clock::now();
};

Agent::Agent(const Options& o)
    : o_(o),
      specs_(device_specs(o)),
      out_(must(LineOutput::open(o.agent.events))),
      stream_({o.agent.window_s, o.agent.rate, o.agent.burst, o.agent.max_flows}, o.tracer.node,
              [this](const json& j) { out_->write(j); }),
      filter_(must(DropFilter::compile(o.filter, o.filter_inner, o.tracer.vxlan_port))),
      pcap_(open_pcap(o)),
      tracer_(std::make_unique<Tracer>(
          o.tracer, [this](const DropRecord& d) { on_drop(d); }, Devices::on_demand)),
      watch_(must(LinkWatch::open())),
      follower_(
          specs_,
          {[this](const Interface& i, bool overlay) { return tracer_->attach_device(i, overlay); },
           [this](int ifindex) { return tracer_->detach_device(ifindex); }},
          [this](const AttachChange& c) {
            log_change(c);
            if (started_) out_->write(attach_line(c, o_.tracer.node));
          }),
      state_(build_info(tracer_->start_info(), o.agent)) {
  state_.set_tracer(tracer_.get());
  follower_.reconcile(watch_.links());
  start_line();
  publish();
  http_ =
      must(HttpServer::start(o.agent.listen, {{"/metrics", [this] { return state_.metrics(); }},
                                              {"/healthz", [this] { return state_.healthz(); }},
                                              {"/readyz", [this] { return state_.readyz(); }}}));
  spdlog::info("agent: serving /metrics /healthz /readyz on {} (port {})", o.agent.listen,
               http_->port());
}

// The filter picks the drops for the stream and the capture alike (the counters see every
// drop). The capture takes each one: its disk is bounded by rotation, not by the line rate.
void Agent::on_drop(const DropRecord& d) {
  if (filter_.active() && !filter_.pass(d)) return;
  const auto now = Clock::now();
  stream_.drop(d, now);
  if (!pcap_) return;
  if (d.packet.empty()) {
    ++pcap_no_bytes_;
    return;
  }
  pcap_->write(pcap_interface(d), d.ts_unix_ns, d.packet, d.orig_len,
               pcap_comment(d, o_.tracer.node), now);
}

void Agent::start_line() {
  StartInfo info = tracer_->start_info();
  for (const auto& d : follower_.devices())
    if (d.ifindex != 0)
      info.attached.insert(
          info.attached.end() - 1,
          {d.spec.name, d.hook, d.spec.overlay ? "overlay" : "underlay", d.prog_id});
  auto j = to_json(info);
  j["mode"] = "agent";
  out_->write(j);
  started_ = true;
}

void Agent::summary_line(bool final) {
  auto s = tracer_->summary();
  s.final = final;
  s.elapsed_s = std::chrono::duration<double>(Clock::now() - t0_).count();
  auto j = to_json(s);
  j["stream"] = stream_json(stream_counters());
  if (auto c = pcap_counters()) j["pcap"] = pcap_json(pcap_->path(), *c);
  out_->write(j);
}

void Agent::publish() {
  const auto& devices = follower_.devices();
  state_.publish(devices, stream_counters(), pcap_counters(), tracer_->event_totals(),
                 watch_.resyncs(), ipv4_addresses(underlay_names(specs_)),
                 underlays_attached(devices));
}

void Agent::run() {
  using namespace std::chrono;
  const auto interval = duration_cast<Clock::duration>(duration<double>(o_.interval_s));
  auto next_summary = t0_ + interval;
  auto next_retry = t0_ + kRetry;
  auto next_rules = t0_;
  RunLoop loop;
  loop.after_poll = [&] {
    auto now = Clock::now();
    auto changed = watch_.drain();
    if (!changed) spdlog::warn("link watch: {}", changed.error().what());
    if ((changed && *changed) || now >= next_retry) {
      follower_.reconcile(watch_.links());
      next_retry = now + kRetry;
    }
    stream_.tick(now);
    if (pcap_) pcap_->tick(now);
    if (now >= next_rules) {
      state_.publish_rules(tracer_->netfilter_rules());
      next_rules = now + kRulesEvery;
    }
    if (o_.interval_s > 0 && now >= next_summary) {
      summary_line(false);
      next_summary += interval;
    }
    publish();
  };
  loop.run(*tracer_);
}

// Detach first, then say so: the kernel objects go before the HTTP server stops serving.
void Agent::stop() {
  tracer_->drain();
  follower_.detach_all();
  stream_.tick(Clock::now(), true);
  summary_line(true);  // the last line: exact totals, read before the maps go away
  state_.set_tracer(nullptr);
  tracer_.reset();
  spdlog::info("agent: detached everything");
}

}  // namespace

int run_agent(const Options& o) {
  // A bad --listen is said before anything is loaded or attached.
  if (auto addr = parse_listen_address(o.agent.listen); !addr) throw FatalError(addr.error());
  install_stop_signals(PipeSignal::ignored);  // a closed log pipe is counted, not fatal
  Agent agent(o);
  agent.run();
  agent.stop();
  return 0;
}

}  // namespace vxt::agent
