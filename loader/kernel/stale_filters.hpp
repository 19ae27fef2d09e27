// vxtrace's own clsact filters left behind by a vxtrace that did not exit cleanly (SIGKILL,
// an OOM kill, a crash): found and removed before attaching to a device again.
//
// A filter is vxtrace's only when everything vxtrace sets matches: cls_bpf on chain 0, all
// protocols, vxtrace's handle, and a program that is one of vxtrace's tc programs by its own
// name (the kernel's, not the filter's free-text TCA_BPF_NAME). Reading a program by id needs
// CAP_SYS_ADMIN; without it (the DaemonSet's capabilities) the program must have the tag, i.e.
// the very instructions, of the program being attached now: a restart of the same build.
// Otherwise the filter is left alone.
//
// It is stale only when no live process holds its program: neither a claim in this network
// namespace (FilterClaim, any PID namespace) nor a file descriptor in /proc (this PID
// namespace; what covers a vxtrace too old to claim its filters). The limit: an old vxtrace
// without claims, running in another PID namespace on the same device, looks stale and loses
// its filter. A program someone pinned in bpffs is held by no process either, and goes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/tc_filters.hpp"

namespace vxt {

// The SEC("tc") programs in bpf/vxtrace.bpf.c, as the kernel names them (<= 15 characters).
inline constexpr std::array<std::string_view, 2> kTcProgramNames = {"vxt_tc_underlay",
                                                                    "vxt_tc_overlay"};

// What the program says of itself, read by id (needs CAP_SYS_ADMIN).
struct ProgIdentity {
  std::string name;
  uint32_t type = 0;  // enum bpf_prog_type
};

enum class FilterVerdict {
  foreign,       // not vxtrace's: never touched
  unidentified,  // vxtrace's handle, but the program cannot be read nor matched by tag
  live,          // vxtrace's, and its vxtrace still runs (a concurrent one)
  stale,         // vxtrace's, and nobody holds it: remove
};

// The decision, from what was read. `held` is asked only about vxtrace's own filters (it may
// scan /proc).
FilterVerdict judge_filter(const TcFilter& f, const std::optional<ProgIdentity>& prog,
                           const BpfTag& attaching_tag, const std::function<bool()>& held);

// The program id in one /proc/PID/fdinfo/N text (a BPF program's or link's fd), if any.
std::optional<uint32_t> fdinfo_prog_id(std::string_view fdinfo);

// Removes the stale ones among `filters` (the device's ingress list, just read), one line on
// stderr each, and takes them out of `filters`. `prog_fd`: the program about to be attached.
void remove_stale_filters(std::vector<TcFilter>& filters, int ifindex, const std::string& ifname,
                          int prog_fd);

}  // namespace vxt
