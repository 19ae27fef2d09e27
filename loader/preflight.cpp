#include "preflight.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

namespace vxt {
namespace {

constexpr int kCapNetAdmin = 12, kCapSysAdmin = 21, kCapPerfmon = 38, kCapBpf = 39;

bool has_cap(const __user_cap_data_struct (&data)[2], int cap) {
  return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

Result<bool> check_capabilities() {
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
  return true;
}

Result<bool> check_btf() {
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return errno_error(
        "kernel BTF not available at /sys/kernel/btf/vmlinux (needs CONFIG_DEBUG_INFO_BTF=y)",
        errno);
  return true;
}

std::string kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

}  // namespace vxt
