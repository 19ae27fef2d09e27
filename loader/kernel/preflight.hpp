// Start-up checks that turn a cryptic libbpf failure into one clear sentence.
#pragma once

#include <string>

#include "sys/result.hpp"

namespace vxt {

Result<void> check_capabilities();  // CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN), CAP_NET_ADMIN
Result<void> check_btf();           // /sys/kernel/btf/vmlinux, needed for CO-RE and tp_btf
// Raises the soft RLIMIT_NOFILE towards the hard one (no privilege needed); fails in one line
// when even the hard limit leaves too few descriptors for the maps, programs and links.
Result<void> ensure_file_descriptors();
std::string kernel_release();

}  // namespace vxt
