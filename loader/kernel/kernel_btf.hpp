// What vxtrace needs to know from the running kernel's BTF, read once at start-up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kernel/drop_reasons.hpp"
#include "sys/result.hpp"

namespace vxt {

// The prototype of the skb:kfree_skb tracepoint, which decides the program variant.
enum class KfreeSkbArgs {
  location,      // (skb, location): Linux < 5.17, no drop reason
  reason,        // (skb, location, reason): 5.17 - 6.11
  reason_rx_sk,  // (skb, location, reason, rx_sk): >= 6.12
};

struct KernelBtf {
  DropReasons reasons;
  KfreeSkbArgs kfree_skb = KfreeSkbArgs::reason_rx_sk;
  uint32_t mib_rpfilter = 0;  // LINUX_MIB_IPRPFILTER: not uapi-stable (72 in 5.10, 76 in 6.18)
};

// `path` is the kernel's BTF; another path only in tests.
Result<KernelBtf> read_kernel_btf(const std::string& path = "/sys/kernel/btf/vmlinux");

// Number of arguments of tracepoint `name` (its btf_trace_<name> typedef), without the
// leading context pointer; -1 when the kernel has no such tracepoint.
int tracepoint_arg_count(const struct btf* btf, const char* name);

// The value of enumerator `name` in any enum of `btf` (anonymous ones included).
std::optional<int64_t> enumerator_value(const struct btf* btf, std::string_view name);

}  // namespace vxt
