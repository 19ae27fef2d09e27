#include "modes/agent/process_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vxt::agent {
namespace {

double boot_time_s() {
  std::ifstream in("/proc/stat");
  std::string key;
  double v = 0;
  while (in >> key) {
    if (key == "btime" && in >> v) return v;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats p;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return p;
  // Fields after the command name, which is in parentheses and may contain spaces.
  std::istringstream f(line.substr(line.rfind(')') + 2));
  std::string field[24];
  for (auto& s : field) f >> s;
  const auto tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  p.cpu_seconds = (std::stod(field[11]) + std::stod(field[12])) / tick;  // utime + stime
  p.start_time_s = boot_time_s() + std::stod(field[19]) / tick;
  p.virtual_bytes = std::stoull(field[20]);
  p.resident_bytes = static_cast<uint64_t>(std::stod(field[21]) * page);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++p.open_fds;
  return p;
}

}  // namespace vxt::agent
