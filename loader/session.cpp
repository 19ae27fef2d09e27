#include "session.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>

#include "json_sink.hpp"
#include "text_sink.hpp"
#include "tracer.hpp"

namespace vxt {
namespace {

std::atomic<bool> g_stop{false};  // the one global: written by the signal handler only

void on_signal(int) { g_stop = true; }

std::unique_ptr<Sink> make_sink(const Options& o) {
  if (o.output == "json") return std::make_unique<JsonSink>(std::cout, o.node);
  return std::make_unique<TextSink>(std::cout);
}

}  // namespace

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop; }

int run_session(const Options& o) {
  auto sink = make_sink(o);
  Tracer tracer(o, [&](const DropRecord& d) { sink->drop(d); });
  install_stop_signals();
  sink->start(tracer.start_info());

  using clock = std::chrono::steady_clock;
  const auto interval =
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.interval_s));
  const auto t0 = clock::now();
  auto next_interval = t0 + interval;
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  while (!stop_requested() && (o.duration_s == 0 || elapsed() < o.duration_s)) {
    int n = tracer.poll(100);
    if (n < 0) spdlog::warn("ring buffer poll: {}", errno_error("", n).what());
    if (o.interval_s > 0 && clock::now() >= next_interval) {
      auto s = tracer.summary();
      s.elapsed_s = elapsed();
      sink->summary(s);
      next_interval += interval;
    }
  }
  tracer.drain();
  tracer.detach_tc();

  auto s = tracer.summary();
  s.final = true;
  s.elapsed_s = elapsed();
  sink->summary(s);
  return 0;
}

}  // namespace vxt
