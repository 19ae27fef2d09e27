// Turns a ring buffer record into a DropRecord: names its cause, reason, location and conntrack
// state, and formats its addresses. The one step between the kernel's bytes and the sinks.
#pragma once

#include <cstdint>

#include "decode/drop_record.hpp"
#include "kernel/drop_reasons.hpp"
#include "kernel/kallsyms.hpp"
#include "kernel/ring_reader.hpp"
#include "vxtrace/abi.h"

namespace vxt {

class EventDecoder {
 public:
  EventDecoder(const DropReasons& reasons, const Symbolizer& syms, int64_t mono_to_unix_ns,
               uint16_t vxlan_port = 4789);

  DropRecord decode(const vxt_drop_event& e, const DropEvidence& evidence = {}) const;

 private:
  const std::string& location(uint64_t addr) const;  // syms_.symbolize(), cached

  const DropReasons& reasons_;
  const Symbolizer& syms_;
  int64_t mono_to_unix_ns_;
  uint16_t vxlan_port_;
  uint64_t id_;  // tags this decoder's entries in the per-thread location cache
};

// CLOCK_REALTIME - CLOCK_MONOTONIC now: turns bpf_ktime_get_ns() into wall time.
int64_t monotonic_to_unix_offset_ns();

}  // namespace vxt
