// This process's own resource use, for the standard process_* metrics: what a platform team
// sets the DaemonSet's requests and limits from.
#pragma once

#include <cstdint>

namespace vxt::agent {

struct ProcessStats {
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0, virtual_bytes = 0;
  double start_time_s = 0;  // since the epoch
  uint64_t open_fds = 0;
};

ProcessStats read_process_stats();  // from /proc/self; zeros when unreadable

}  // namespace vxt::agent
