// `vxtrace doctor`: node checks, live evidence for --duration seconds, and a diagnosis.
#pragma once

#include "cli/options.hpp"

namespace vxt {

// Exit code: 0 healthy, 1 findings present. Throws FatalError when tracing cannot start.
int run_doctor(const Options& options);

}  // namespace vxt
