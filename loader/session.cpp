#include "session.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <vector>

#include "bpf_program.hpp"
#include "drop_reasons.hpp"
#include "interfaces.hpp"
#include "json_sink.hpp"
#include "kallsyms.hpp"
#include "preflight.hpp"
#include "ring_reader.hpp"
#include "tc_attach.hpp"
#include "text_sink.hpp"

namespace vxt {
namespace {

std::atomic<bool> g_stop{false};  // the one global: written by the signal handler only

void on_signal(int) { g_stop = true; }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

template <typename T>
T must(Result<T> r) {
  if (!r) throw FatalError(r.error());
  return std::move(*r);
}

struct Target {
  Interface iface;
  bool overlay;
};

// --iface devices must exist; the VXLAN device is optional (a node without pods yet).
std::vector<Target> resolve_targets(const Options& o) {
  std::vector<std::string> names = o.ifaces;
  if (names.empty()) {
    auto dev = default_route_device();
    if (!dev)
      throw FatalError(
          "no default route in this network namespace: name the underlay with --iface");
    names.push_back(*dev);
  }
  std::vector<Target> targets;
  bool have_vxlan = false;
  for (const auto& n : names) {
    targets.push_back({must(find_interface(n)), n == o.vxlan_dev});
    have_vxlan |= n == o.vxlan_dev;
  }
  if (!have_vxlan) {
    if (auto vx = find_interface(o.vxlan_dev))
      targets.push_back({*vx, true});
    else
      spdlog::warn(
          "{} not found: watching the underlay only (drops after decapsulation are still "
          "joined to their tunnel)",
          o.vxlan_dev);
  }
  return targets;
}

std::unique_ptr<Sink> make_sink(const Options& o) {
  if (o.output == "json") return std::make_unique<JsonSink>(std::cout, o.node);
  return std::make_unique<TextSink>(std::cout);
}

}  // namespace

int run_session(const Options& o) {
  must(check_capabilities());
  must(check_btf());
  route_libbpf_logs();
  auto reasons = must(DropReasons::from_vmlinux());
  auto symbols = Symbolizer::from_proc();
  if (symbols.size() == 0) spdlog::warn("/proc/kallsyms unreadable: locations shown as addresses");
  auto targets = resolve_targets(o);

  BpfConfig config{o.vxlan_port, o.stream_causes, o.ringbuf_kib * 1024};
  auto bpf = BpfProgram::load(config, reasons);

  StartInfo start{VXTRACE_VERSION, kernel_release(), o.node, {}};
  std::vector<TcAttachment> attachments;
  for (const auto& t : targets) {
    int fd = t.overlay ? bpf->overlay_prog_fd() : bpf->underlay_prog_fd();
    auto& a = attachments.emplace_back(
        must(TcAttachment::attach(t.iface.ifindex, t.iface.name, fd, o.attach_mode)));
    start.attached.push_back({a.ifname(), a.hook(), t.overlay ? "overlay" : "underlay"});
  }
  must(bpf->attach_drops());
  start.attached.push_back({"*", "tp_btf", "drops"});

  auto sink = make_sink(o);
  EventDecoder decoder(reasons, symbols, monotonic_to_unix_offset_ns());
  auto reader = must(RingReader::open(
      bpf->events_fd(), [&](const vxt_drop_event& e) { sink->drop(decoder.decode(e)); }));

  install_signal_handlers();
  sink->start(start);

  using clock = std::chrono::steady_clock;
  const auto interval =
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.interval_s));
  const auto t0 = clock::now();
  auto next_interval = t0 + interval;
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  while (!g_stop && (o.duration_s == 0 || elapsed() < o.duration_s)) {
    int n = reader->poll(100);
    if (n < 0) spdlog::warn("ring buffer poll: {}", errno_error("", n).what());
    if (o.interval_s > 0 && clock::now() >= next_interval) {
      auto s = summarize(bpf->read_counters(), reasons);
      s.elapsed_s = elapsed();
      sink->summary(s);
      next_interval += interval;
    }
  }
  while (reader->poll(0) > 0) {
  }  // what is already in the ring still gets out
  attachments.clear();

  auto s = summarize(bpf->read_counters(), reasons);
  s.final = true;
  s.elapsed_s = elapsed();
  s.malformed += reader->malformed();
  sink->summary(s);
  return 0;
}

}  // namespace vxt
