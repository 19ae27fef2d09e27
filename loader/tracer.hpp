// Everything vxtrace attaches, as one RAII object: the BPF programs loaded, tc ingress on
// the underlay and VXLAN devices, the kfree_skb tracepoint, and the ring buffer reader.
// The trace session, doctor and agent all observe through it.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "bpf_program.hpp"
#include "cli.hpp"
#include "drop_reasons.hpp"
#include "drop_record.hpp"
#include "kallsyms.hpp"
#include "ring_reader.hpp"
#include "sink.hpp"
#include "summary.hpp"
#include "tc_attach.hpp"

namespace vxt {

class Tracer {
 public:
  using DropHandler = std::function<void(const DropRecord&)>;

  // Throws FatalError with one clear sentence when anything needed is missing.
  Tracer(const Options& options, DropHandler on_drop);
  ~Tracer();

  const StartInfo& start_info() const { return start_; }
  int poll(int timeout_ms) { return reader_->poll(timeout_ms); }
  void drain();  // hand on what is already in the ring
  void detach_tc() { attachments_.clear(); }
  Summary summary() const;
  const DropReasons& reasons() const { return reasons_; }

 private:
  DropReasons reasons_;
  Symbolizer symbols_;
  std::unique_ptr<BpfProgram> bpf_;
  std::vector<TcAttachment> attachments_;
  std::unique_ptr<EventDecoder> decoder_;
  std::unique_ptr<RingReader> reader_;
  StartInfo start_;
};

}  // namespace vxt
