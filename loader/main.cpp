#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <variant>

#include "agent/run_agent.hpp"
#include "cli.hpp"
#include "doctor/run_doctor.hpp"
#include "result.hpp"
#include "session.hpp"

int main(int argc, char** argv) {
  auto parsed = vxt::parse_cli(argc, argv);
  if (auto* exit = std::get_if<vxt::CliExit>(&parsed)) {
    std::fputs(exit->out.c_str(), stdout);
    std::fputs(exit->err.c_str(), stderr);
    return exit->code;
  }
  const auto& options = std::get<vxt::Options>(parsed);
  spdlog::set_default_logger(spdlog::stderr_color_mt("vxtrace"));
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  try {
    if (options.command == vxt::Command::doctor) return vxt::run_doctor(options);
    if (options.command == vxt::Command::agent) return vxt::agent::run_agent(options);
    return vxt::run_session(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vxtrace: error: %s\n", e.what());
    return 1;
  }
}
