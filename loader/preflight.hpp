// Start-up checks that turn a cryptic libbpf failure into one clear sentence.
#pragma once

#include <string>

#include "result.hpp"

namespace vxt {

Result<bool> check_capabilities();  // CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN), CAP_NET_ADMIN
Result<bool> check_btf();           // /sys/kernel/btf/vmlinux, needed for CO-RE and tp_btf
std::string kernel_release();

}  // namespace vxt
