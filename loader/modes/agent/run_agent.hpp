// `vxtrace agent`: the node agent a DaemonSet runs. Until SIGTERM/SIGINT it keeps the tc
// programs attached to the devices it follows, serves /metrics /healthz /readyz, and writes
// bounded JSON lines; then it detaches everything before it stops serving.
#pragma once

#include "cli/options.hpp"

namespace vxt::agent {

// Returns the exit code; throws FatalError when start-up fails.
int run_agent(const Options& options);

}  // namespace vxt::agent
