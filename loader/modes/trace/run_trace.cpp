#include "modes/trace/run_trace.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <ostream>

#include "evidence/drop_filter.hpp"
#include "evidence/pcap_sink.hpp"
#include "output/json_sink.hpp"
#include "output/text_sink.hpp"
#include "sys/fd_output.hpp"
#include "sys/stop_signals.hpp"
#include "tracer/run_loop.hpp"
#include "tracer/tracer.hpp"

namespace vxt {
namespace {

std::unique_ptr<Sink> make_sink(const Options& o, std::ostream& out) {
  if (o.output == "json") return std::make_unique<JsonSink>(out, o.tracer.node);
  return std::make_unique<TextSink>(out);
}

// How often the loop looks whether stdout's reader went away while nothing was written.
constexpr auto kOutputCheck = std::chrono::milliseconds(100);

}  // namespace

int run_trace(const Options& o) {
  // Declared before the Tracer, so they outlive it: its drain still has somewhere to write.
  FdOutput out_buf(STDOUT_FILENO, [] { return stop_requested(); });
  std::ostream out(&out_buf);
  auto sink = make_sink(o, out);
  // Opened before anything is loaded: a path that cannot be written is a start-up error.
  std::unique_ptr<PcapSink> pcap;
  if (!o.pcap.empty())
    pcap = std::make_unique<PcapSink>(must(PcapngWriter::open(o.pcap, o.snaplen)), o.tracer.node);
  const auto filter = must(DropFilter::compile(o.filter, o.filter_inner, o.tracer.vxlan_port));
  install_stop_signals();  // before attaching: a signal from here on still detaches
  Tracer tracer(o.tracer, [&](const DropRecord& d) {
    if (filter.active() && !filter.pass(d)) return;
    sink->drop(d);
    if (pcap) pcap->drop(d);
  });
  sink->start(tracer.start_info());

  using clock = std::chrono::steady_clock;
  const auto interval =
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.interval_s));
  const auto t0 = clock::now();
  auto next_interval = t0 + interval;
  auto next_output_check = t0;
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  auto pcap_failed = [&] { return pcap && pcap->failed(); };
  bool output_broken = false;
  RunLoop loop;
  loop.done = [&] {
    return output_broken || out_buf.error() || pcap_failed() ||
           (o.duration_s > 0 && elapsed() >= o.duration_s);
  };
  loop.after_poll = [&] {
    sink->flush();
    const auto now = clock::now();
    if (o.interval_s > 0 && now >= next_interval) {
      auto s = tracer.summary();
      s.elapsed_s = elapsed();
      sink->summary(s);
      next_interval += interval;
    }
    if (now >= next_output_check) {
      output_broken = out_buf.broken();
      next_output_check = now + kOutputCheck;
    }
  };
  loop.run(tracer);
  if (!out_buf.error()) tracer.drain();
  tracer.detach_tc();

  if (!out_buf.error()) {
    auto s = tracer.summary();
    s.final = true;
    s.elapsed_s = elapsed();
    sink->summary(s);
  }
  if (pcap) pcap->summary({});  // flushes
  if (pcap_failed())
    throw FatalError("cannot write --pcap " + o.pcap + ": " + std::strerror(pcap->error()));
  // The Tracer's destructor detaches the rest while the error unwinds to main's one line.
  if (out_buf.error())
    throw FatalError(std::string("cannot write output: ") + std::strerror(out_buf.error()));
  return 0;
}

}  // namespace vxt
