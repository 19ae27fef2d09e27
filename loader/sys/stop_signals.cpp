#include "sys/stop_signals.hpp"

#include <atomic>
#include <csignal>

namespace vxt {
namespace {

std::atomic<bool> g_stop{false};  // the one global: written by the signal handler only

void on_signal(int /*sig*/) { g_stop = true; }

}  // namespace

void install_stop_signals(PipeSignal pipe) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: a blocked write returns EINTR (FdOutput)
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  if (pipe == PipeSignal::ignored) sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
}

bool stop_requested() { return g_stop; }

}  // namespace vxt
