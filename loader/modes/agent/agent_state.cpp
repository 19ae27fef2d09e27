#include "modes/agent/agent_state.hpp"

namespace vxt::agent {
namespace {

// The loop publishes every 100 ms; a write blocked this long on a stuck log pipe is a hang.
constexpr auto kStale = std::chrono::seconds(30);

}  // namespace

void AgentState::set_tracer(const Tracer* t) {
  std::lock_guard lock(mu_);
  tracer_ = t;
  if (!t) base_.ready = false;
}

void AgentState::publish(const std::vector<DeviceState>& devices, const StreamCounters& stream,
                         const std::optional<PcapCounters>& pcap, const EventTotals& events,
                         uint64_t link_resyncs, std::vector<std::string> underlay_ips, bool ready) {
  std::lock_guard lock(mu_);
  base_.devices = devices;
  base_.stream = stream;
  base_.pcap = pcap;
  events_ = events;
  base_.link_resyncs = link_resyncs;
  base_.underlay_ips = std::move(underlay_ips);
  base_.ready = ready && tracer_;
  heartbeat_ = std::chrono::steady_clock::now();
}

void AgentState::publish_rules(nf::RuleTotals totals) {
  std::lock_guard lock(mu_);
  rule_totals_ = std::move(totals);
}

HttpResponse AgentState::metrics() const {
  std::lock_guard lock(mu_);
  if (!tracer_) return {503, "stopping\n"};
  MetricsInput in = base_;
  auto raw = tracer_->raw_counters();
  in.drops = drops_by_cause_reason(raw, tracer_->reasons());
  in.summary = build_summary(raw, tracer_->reasons(), rule_totals_, events_);
  in.netfilter_rules = in.summary.netfilter_rules;
  in.process = read_process_stats();
  return {200, render_metrics(in), "text/plain; version=0.0.4; charset=utf-8"};
}

HttpResponse AgentState::healthz() const {
  std::lock_guard lock(mu_);
  if (std::chrono::steady_clock::now() - heartbeat_ > kStale) return {503, "event loop stalled\n"};
  return {200, "ok\n"};
}

HttpResponse AgentState::readyz() const {
  std::lock_guard lock(mu_);
  if (!base_.ready) return {503, "not attached\n"};
  return {200, "ready\n"};
}

}  // namespace vxt::agent
