// What the Tracer needs to know, and nothing else: the CLI parses straight into the one in
// Options (cli/options.hpp), so the Tracer never sees flags of other modes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/tc_attach.hpp"
#include "vxtrace/abi.h"

namespace vxt {

struct TracerConfig {
  std::vector<std::string> ifaces;  // underlay devices; empty: the default-route device
  std::string vxlan_dev = "vxlan.calico";
  uint16_t vxlan_port = 4789;
  AttachMode attach_mode = AttachMode::automatic;
  // --causes: which drops become events, a bit per final cause (decode/cause_decision.hpp). BPF
  // streams bpf_stream_mask() of it, and the Tracer hands on the wanted() ones.
  uint32_t stream_causes = 0;
  uint32_t ringbuf_kib = 1024;
  uint32_t join_slots = VXT_JOIN_SLOTS_DEFAULT;
  uint32_t event_rate = 0;  // events a second for the node; 0: no limit
  bool capture = false;     // events carry the packet's bytes (--pcap, the filters, doctor)
  bool stack = false;       // events carry the kernel stack (--stack)
  std::string node;         // the start line's node name
};

}  // namespace vxt
