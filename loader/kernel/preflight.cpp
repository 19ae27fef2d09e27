#include "kernel/preflight.hpp"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace vxt {
namespace {

constexpr int kCapNetAdmin = 12, kCapSysAdmin = 21, kCapPerfmon = 38, kCapBpf = 39;

bool has_cap(const __user_cap_data_struct (&data)[2], int cap) {
  return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

Result<void> check_capabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data)) return errno_error("capget", errno);
  bool admin = has_cap(data, kCapSysAdmin);
  std::string missing;
  if (!has_cap(data, kCapBpf) && !admin) missing += " CAP_BPF";
  if (!has_cap(data, kCapPerfmon) && !admin) missing += " CAP_PERFMON";
  if (!has_cap(data, kCapNetAdmin)) missing += " CAP_NET_ADMIN";
  if (!missing.empty())
    return Error{"missing capabilities:" + missing + " (run as root or grant them)"};
  return {};
}

Result<void> check_btf() {
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return errno_error(
        "kernel BTF not available at /sys/kernel/btf/vmlinux (needs CONFIG_DEBUG_INFO_BTF=y)",
        errno);
  return {};
}

Result<void> ensure_file_descriptors() {
  // ~20 maps and programs, a link per device and the tracepoints, BTF, netlink sockets.
  constexpr rlim_t kNeeded = 64, kWanted = 1024;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim)) return errno_error("getrlimit(RLIMIT_NOFILE)", errno);
  if (lim.rlim_cur >= kWanted) return {};
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? kWanted : std::min(kWanted, lim.rlim_max);
  if (raised.rlim_cur > lim.rlim_cur) setrlimit(RLIMIT_NOFILE, &raised);
  if (raised.rlim_cur < kNeeded)
    return Error{"RLIMIT_NOFILE is " + std::to_string(raised.rlim_cur) +
                 " (hard limit): vxtrace needs " + std::to_string(kNeeded) +
                 " file descriptors; raise it, e.g. ulimit -n 1024"};
  return {};
}

std::string kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

}  // namespace vxt
