// The one place a drop's cause is decided, and what --causes selects. The kernel counts and
// streams a drop by the cause it can see: a netfilter drop is `netfilter`. Once userspace has
// named its rule, a rule matching ct state INVALID makes it conntrack's verdict. Whatever shows,
// selects or counts drops by cause goes through here, so the stream, the summary and /metrics
// agree.
#pragma once

#include <cstdint>

#include "decode/drop_record.hpp"

namespace vxt {

// A set of causes, one bit each (1u << VXT_CAUSE_*), as parse_cause_list() makes --causes.
using CauseMask = uint32_t;

constexpr CauseMask cause_bit(Cause c) { return CauseMask{1} << static_cast<unsigned>(c); }

// The cause every sink shows and every count uses: a netfilter drop whose named rule matches
// ct state INVALID is conntrack's; otherwise the decoded cause. Deciding twice changes nothing.
Cause final_cause(const DropRecord& r);

// The cause the kernel counted the drop under (its totals, its peer's): what final_cause()
// started from, for moving the kernel's counts to the final cause.
Cause kernel_cause(const DropRecord& r);

// What BPF must stream for the user's selection to be shown: a drop that becomes conntrack's
// by its rule arrives as netfilter.
CauseMask bpf_stream_mask(CauseMask selected);

// Whether the user selected this drop, by its final cause: applied once the rule is named, to
// what BPF streamed.
bool wanted(const DropRecord& r, CauseMask selected);

}  // namespace vxt
