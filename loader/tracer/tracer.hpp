// Everything vxtrace attaches, as one RAII object: the BPF programs loaded, tc ingress on
// the underlay and VXLAN devices, the kfree_skb tracepoint, and the ring buffer reader.
// The trace session, doctor and agent all observe through it.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <vector>

#include "decode/cause_decision.hpp"
#include "decode/drop_record.hpp"
#include "decode/event_decoder.hpp"
#include "decode/start_info.hpp"
#include "decode/summary.hpp"
#include "kernel/bpf_program.hpp"
#include "kernel/drop_reasons.hpp"
#include "kernel/kallsyms.hpp"
#include "kernel/ring_reader.hpp"
#include "kernel/tc_attach.hpp"
#include "netfilter/rule_attribution.hpp"
#include "sys/interfaces.hpp"
#include "tracer/build_summary.hpp"
#include "tracer/tracer_config.hpp"

namespace vxt {

// Which devices the constructor attaches: those the config names (a trace session), or none
// (the agent attaches and detaches devices itself as they come and go).
enum class Devices { from_options, on_demand };

class Tracer {
 public:
  using DropHandler = std::function<void(const DropRecord&)>;

  // Throws FatalError with one clear sentence when anything needed is missing.
  Tracer(const TracerConfig& config, DropHandler on_drop, Devices devices = Devices::from_options);
  ~Tracer();

  const StartInfo& start_info() const { return start_; }
  // Waits for and hands on events; also keeps the node's addresses current in BPF.
  int poll(int timeout_ms);
  void drain();  // hand on what is already in the ring, and what waits for its rule
  void detach_tc() { attachments_.clear(); }
  // build_summary() of everything so far: the poll() thread only.
  Summary summary() const;
  // The drop rules that dropped (reads nfnetlink): the poll() thread only.
  nf::RuleTotals netfilter_rules() const { return rules_->totals(); }
  // What the events handed on so far added to the counters: the poll() thread only.
  EventTotals event_totals() const;
  // Only the BPF maps: safe to call from another thread while poll() runs.
  RawCounters raw_counters() const;
  const DropReasons& reasons() const { return reasons_; }

  // Run-time attachment of one device (a VXLAN device that appears after start).
  Result<AttachedHook> attach_device(const Interface& iface, bool overlay);
  // Drops our attachment to `ifindex`; false when there was none.
  bool detach_device(int ifindex);

 private:
  DropReasons reasons_;
  Symbolizer symbols_;
  std::unique_ptr<BpfProgram> bpf_;
  AttachMode attach_mode_;
  std::list<std::pair<int, TcAttachment>> attachments_;  // by ifindex; a list: no move-assign
  std::unique_ptr<EventDecoder> decoder_;
  std::unique_ptr<RingReader> reader_;
  DropHandler on_drop_;
  DropHandler hand_on_;                         // hand_on(), made once: every record passes it
  CauseMask selected_;                          // --causes, by final cause
  std::unique_ptr<nf::RuleAttribution> rules_;  // names netfilter drops' rules; reads nfnetlink
  EventTotals events_;
  StartInfo start_;
  std::chrono::steady_clock::time_point addrs_read_{};
  bool warned_addrs_ = false;

  void refresh_node_addresses();
  void hand_on(const DropRecord& r);
  bool counted_per_peer(const DropRecord& r) const;
};

}  // namespace vxt
