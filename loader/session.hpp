// A tracing session: attach, stream drops to the sink, summarize, detach.
#pragma once

#include "cli.hpp"

namespace vxt {

// Returns the process exit code; throws FatalError when start-up fails.
int run_session(const Options& options);

// SIGINT/SIGTERM set a flag that long-running commands poll.
void install_stop_signals();
bool stop_requested();

}  // namespace vxt
