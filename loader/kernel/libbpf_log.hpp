// libbpf's own messages, routed to spdlog; held back while a step whose failure becomes one
// line of ours (loading the programs, reading BTF) runs.
#pragma once

#include <string>

namespace vxt {

// Routes libbpf's messages to spdlog: warnings as warnings, the rest as debug/trace.
void route_libbpf_logs();

// While alive, libbpf's warnings are kept in log() instead of printed (they still reach
// spdlog's debug level). Not nestable; single-threaded start-up only.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  const std::string& log() const { return log_; }

 private:
  std::string log_;
};

}  // namespace vxt
