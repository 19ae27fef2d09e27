// vxtrace (trace mode): attach, stream drops to the sink, summarize, detach.
#pragma once

#include "cli/options.hpp"

namespace vxt {

// Returns the process exit code; throws FatalError when start-up fails or the output cannot be
// written (after everything is detached).
int run_trace(const Options& options);

}  // namespace vxt
