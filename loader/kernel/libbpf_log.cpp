#include "kernel/libbpf_log.hpp"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>

namespace vxt {
namespace {

std::string* g_captured = nullptr;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string msg(n > 0 ? n : 0, '\0');
  vsnprintf(msg.data(), msg.size() + 1, fmt, args);  // a verifier log can be long
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  // bpf_tc_hook_create() on a device that already has clsact (Calico's, Cilium's) is
  // expected to fail with EEXIST; the kernel's extack for it is not worth a warning.
  if (msg.find("Exclusivity flag on") != std::string::npos) level = LIBBPF_DEBUG;
  if (g_captured && level == LIBBPF_WARN) {
    *g_captured += msg + '\n';
    level = LIBBPF_DEBUG;
  }
  if (level == LIBBPF_WARN)
    spdlog::warn("libbpf: {}", msg);
  else if (level == LIBBPF_INFO)
    spdlog::debug("libbpf: {}", msg);
  else
    spdlog::trace("libbpf: {}", msg);
  return n;
}

}  // namespace

void route_libbpf_logs() { libbpf_set_print(libbpf_print); }

LibbpfLogCapture::LibbpfLogCapture() { g_captured = &log_; }
LibbpfLogCapture::~LibbpfLogCapture() { g_captured = nullptr; }

}  // namespace vxt
