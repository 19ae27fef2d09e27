// What the HTTP threads read while the agent's loop runs: the loop publishes its state
// under a mutex; /metrics reads the exact BPF counters itself, at scrape time, through the
// Tracer (map reads only), and gets a 503 once the Tracer is going away. Its summary is built
// as the trace's is (build_summary()), from what the loop published of the events and rules.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>

#include "modes/agent/http_server.hpp"
#include "modes/agent/metrics.hpp"
#include "tracer/tracer.hpp"

namespace vxt::agent {

class AgentState {
 public:
  explicit AgentState(MetricsInput base) : base_(std::move(base)) {}

  void set_tracer(const Tracer* t);
  // The loop's view: devices, stream counters, what the events added, readiness. Also its
  // heartbeat.
  void publish(const std::vector<DeviceState>& devices, const StreamCounters& stream,
               const std::optional<PcapCounters>& pcap, const EventTotals& events,
               uint64_t link_resyncs, std::vector<std::string> underlay_ips, bool ready);

  // The drop rules' totals: a netlink read of the rulesets, so the loop does it every few seconds.
  void publish_rules(nf::RuleTotals totals);

  HttpResponse metrics() const;
  HttpResponse healthz() const;  // the loop is alive (published recently)
  HttpResponse readyz() const;   // attached and watching

 private:
  mutable std::mutex mu_;
  const Tracer* tracer_ = nullptr;
  MetricsInput base_;
  EventTotals events_;          // the Tracer's, which only the loop may read
  nf::RuleTotals rule_totals_;  // read by the loop every few seconds
  std::chrono::steady_clock::time_point heartbeat_ = std::chrono::steady_clock::now();
};

}  // namespace vxt::agent
