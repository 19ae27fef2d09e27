// Which kernel drop reason belongs to which cause: the one place that decides it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sys/result.hpp"
#include "vxtrace/abi.h"

namespace vxt {

std::string_view cause_name(uint8_t cause);
std::optional<uint8_t> cause_from_name(std::string_view name);

// `reason` is the kernel's name without the SKB_DROP_REASON_ prefix.
uint8_t cause_for_reason(std::string_view reason);

// The reason_cause entry BPF reads for `reason`: its cause, or for NOT_SPECIFIED
// VXT_CAUSE_BY_SITE with the cause of a drop no site explains: `background` where the
// kernel names reasons (what it leaves unnamed is the constant noise), `other` where it
// names none (Linux < 5.17: every drop is unnamed).
uint8_t reason_table_entry(std::string_view reason, bool kernel_names_reasons);

// Causes streamed as events unless --causes says otherwise: all but the constant
// NOT_SPECIFIED background, which is still counted.
uint32_t default_stream_mask();

// "checksum,rp_filter", "all" or "default" to a bit mask of causes.
Result<uint32_t> parse_cause_list(std::string_view list);

std::vector<std::string_view> all_cause_names();

}  // namespace vxt
