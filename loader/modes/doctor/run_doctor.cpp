#include "modes/doctor/run_doctor.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "modes/doctor/gather.hpp"
#include "modes/doctor/report.hpp"
#include "sys/netns_files.hpp"
#include "sys/stop_signals.hpp"
#include "tracer/run_loop.hpp"
#include "tracer/tracer.hpp"

namespace vxt {
namespace {

using doctor::LiveEvidence;

// Counters are read right after attaching and right after detaching, so their deltas
// cover the same window as the BPF counters.
LiveEvidence observe(const Options& o) {
  doctor::LiveCollector collector(own_netns_inode());
  Tracer tracer(o.tracer, [&](const DropRecord& d) { collector.add(d); });
  install_stop_signals();
  auto& ev = collector.evidence();
  ev.counters_before = doctor::read_counters();
  ev.conntrack_before = doctor::read_conntrack();
  spdlog::info("observing drops for {} s", o.duration_s);  // tests wait for this line

  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  RunLoop loop;
  loop.done = [&] { return elapsed() >= o.duration_s; };
  loop.run(tracer);
  tracer.drain();
  tracer.detach_tc();
  ev.counters_after = doctor::read_counters();
  ev.conntrack_after = doctor::read_conntrack();
  ev.summary = tracer.summary();
  ev.seconds = elapsed();
  ev.observed = true;
  return ev;
}

int diagnose_and_report(const Options& o) {
  auto checks = doctor::gather_checks(o);
  LiveEvidence live;
  if (o.duration_s > 0) {
    live = observe(o);
    doctor::add_rp_filter_devices(checks, live);
  }
  auto diagnosis = doctor::diagnose(checks, live);
  doctor::ReportContext ctx{o.tracer.node, checks.kernel_release, VXTRACE_VERSION,
                            live.observed ? live.seconds : 0, &live};
  if (o.output == "json")
    doctor::write_json(std::cout, diagnosis, ctx);
  else
    doctor::write_text(std::cout, diagnosis, ctx);
  return diagnosis.findings.empty() ? 0 : 1;
}

}  // namespace

// Fatal errors end with exit code 2 here, so 1 always means "findings present".
int run_doctor(const Options& o) try {
  return diagnose_and_report(o);
} catch (const std::exception& e) {
  std::fprintf(stderr, "vxtrace: error: %s\n", e.what());
  return 2;
}

}  // namespace vxt
