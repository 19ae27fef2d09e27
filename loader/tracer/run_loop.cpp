#include "tracer/run_loop.hpp"

#include <spdlog/spdlog.h>

#include "sys/stop_signals.hpp"

namespace vxt {

void RunLoop::run(Tracer& tracer) const {
  while (!stop_requested() && !done()) {
    if (int n = tracer.poll(poll_ms); n < 0)
      spdlog::warn("ring buffer poll: {}", errno_error("", n).what());
    after_poll();
  }
}

}  // namespace vxt
