// The one loop every mode runs (trace, doctor, agent): wait for events on the ring buffer,
// then let the mode do its periodic work (flush its outputs, print a summary, follow its
// devices), until a stop signal arrives or the mode says it is done.
#pragma once

#include <functional>

#include "tracer/tracer.hpp"

namespace vxt {

struct RunLoop {
  // True when the mode is done (its duration is over, its output broke).
  std::function<bool()> done = [] { return false; };
  // After every poll, events or not: the mode flushes what the poll's events wrote.
  std::function<void()> after_poll = [] {};
  int poll_ms = 100;  // the longest an event waits below the ring's wakeup threshold

  void run(Tracer& tracer) const;
};

}  // namespace vxt
