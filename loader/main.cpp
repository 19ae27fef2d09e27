#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <variant>

#include "cli/options.hpp"
#include "modes/agent/run_agent.hpp"
#include "modes/doctor/run_doctor.hpp"
#include "modes/trace/run_trace.hpp"
#include "sys/fd_output.hpp"
#include "sys/result.hpp"
#include "sys/stop_signals.hpp"

namespace {

// doctor prints its report through std::cout at the end: a full disk or a closed pipe must not
// pass for a report written, and its errno must survive to be named. (The trace session checks
// its own output as it goes; the agent counts failed lines.)
int doctor_with_checked_output(const vxt::Options& options) {
  vxt::FdOutput out(STDOUT_FILENO, [] { return vxt::stop_requested(); });
  struct Redirect {  // std::cout never outlives `out` pointing at it, whatever happens
    std::streambuf* saved = std::cout.rdbuf();
    ~Redirect() { std::cout.rdbuf(saved); }
  } redirect;
  std::cout.rdbuf(&out);
  int code = vxt::run_doctor(options);  // catches its own errors: exit code 2
  std::cout.flush();
  if (!out.error()) return code;
  std::fprintf(stderr, "vxtrace: error: cannot write output: %s\n", std::strerror(out.error()));
  return 2;
}

}  // namespace

// Start-up errors are thrown and printed below; what throws before the try (CLI11, spdlog set-up)
// is a bug, which ends in std::terminate with its message.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  auto parsed = vxt::parse_cli(argc, argv);
  if (auto* exit = std::get_if<vxt::CliExit>(&parsed)) {
    std::fputs(exit->out.c_str(), stdout);
    std::fputs(exit->err.c_str(), stderr);
    return exit->code;
  }
  const auto& options = std::get<vxt::Options>(parsed);
  spdlog::set_default_logger(spdlog::stderr_color_mt("vxtrace"));
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  // From here on SIGINT/SIGTERM/SIGHUP (and SIGPIPE but in the agent) end a command through
  // its own exit path, which detaches whatever it attached: none of them kills mid-attach.
  vxt::install_stop_signals(options.command == vxt::Command::agent ? vxt::PipeSignal::ignored
                                                                   : vxt::PipeSignal::stops);
  try {
    if (options.command == vxt::Command::doctor) return doctor_with_checked_output(options);
    if (options.command == vxt::Command::agent) return vxt::agent::run_agent(options);
    return vxt::run_trace(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vxtrace: error: %s\n", e.what());
    return 1;
  }
}
