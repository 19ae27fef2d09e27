// How long-running commands learn they should stop, detach and exit.
#pragma once

namespace vxt {

// SIGINT, SIGTERM and SIGHUP (a closed terminal or ssh session) set a flag that long-running
// commands poll, so they detach before they exit. SIGPIPE either does the same (trace, doctor:
// a pipe's reader is gone, and the failed write says so too) or is ignored (the agent, whose
// closed log pipe or HTTP client is counted, never fatal).
enum class PipeSignal { stops, ignored };
void install_stop_signals(PipeSignal pipe = PipeSignal::stops);
bool stop_requested();

}  // namespace vxt
