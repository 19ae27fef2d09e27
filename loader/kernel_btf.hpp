// What vxtrace needs to know from the running kernel's BTF, read once at start-up.
#pragma once

#include "drop_reasons.hpp"
#include "result.hpp"

namespace vxt {

struct KernelBtf {
  DropReasons reasons;
  bool kfree_skb_has_rx_sk = false;  // Linux >= 6.12 passes the receiving socket
};

Result<KernelBtf> read_kernel_btf();

// Number of arguments of tracepoint `name` (its btf_trace_<name> typedef), without the
// leading context pointer; -1 when the kernel has no such tracepoint.
int tracepoint_arg_count(const struct btf* btf, const char* name);

}  // namespace vxt
