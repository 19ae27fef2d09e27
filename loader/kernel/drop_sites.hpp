// Kernel functions that free packets, and the cause each stands for: the one place that
// names the cause of a drop the kernel gives no reason for. That is every drop before
// Linux 5.17, and NOT_SPECIFIED on later kernels (6.1 frees a frame of an unknown VNI in
// vxlan_rcv without a reason: VXLAN_VNI_NOT_FOUND came in 6.3).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "kernel/kallsyms.hpp"
#include "vxtrace/abi.h"

namespace vxt {

struct SiteRule {
  std::string_view function;  // as in System.map, without a .isra/.constprop suffix
  uint8_t cause;              // enum vxt_cause
  uint8_t check;              // enum vxt_site_check: how BPF proves it per packet
};

std::span<const SiteRule> drop_site_rules();

// The rules placed at the running kernel's addresses, sorted by start, at most
// VXT_MAX_SITES: the table BPF searches.
std::vector<vxt_drop_site> resolve_drop_sites(const Symbolizer& symbols);

// "udp_recvmsg.isra.0" -> "udp_recvmsg": the compiler's clones free packets for the
// same reasons as the function they were cloned from.
std::string_view base_symbol_name(std::string_view name);

}  // namespace vxt
