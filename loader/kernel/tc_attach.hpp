// One BPF program on one device's tc ingress, detached when this object dies.
// tcx links (Linux >= 6.6) also vanish if the process is killed; on older kernels the
// program goes in as a clsact direct-action filter, and only that filter is removed. A filter
// that outlived its vxtrace (SIGKILL) is removed by the next one attaching to the device
// (stale_filters.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "kernel/filter_claim.hpp"
#include "sys/result.hpp"

struct bpf_tc_hook;

namespace vxt {

// libbpf's description of `ifindex`'s clsact ingress hook.
bpf_tc_hook ingress_hook(int ifindex);

enum class AttachMode { automatic, tcx, clsact };

// Our clsact filters' handle: with the program's name, how vxtrace knows its own.
inline constexpr uint32_t kClsactHandle = 0x7678;  // "vx"

class TcAttachment {
 public:
  static Result<TcAttachment> attach(int ifindex, const std::string& ifname, int prog_fd,
                                     AttachMode mode);
  TcAttachment(TcAttachment&& other) noexcept;
  TcAttachment& operator=(TcAttachment&&) = delete;
  TcAttachment(const TcAttachment&) = delete;
  ~TcAttachment();

  const std::string& ifname() const { return ifname_; }
  const char* hook() const { return link_fd_ >= 0 ? "tcx" : "clsact"; }

 private:
  TcAttachment(std::string ifname, int ifindex) : ifname_(std::move(ifname)), ifindex_(ifindex) {}
  static Result<int> attach_tcx(int ifindex, int prog_fd);
  Result<void> attach_clsact(int prog_fd, const std::set<uint32_t>& used_priorities);
  std::string ifname_;
  int ifindex_;
  int link_fd_ = -1;
  uint32_t tc_handle_ = 0, tc_priority_ = 0;  // clsact filter, when link_fd_ < 0
  std::optional<FilterClaim> claim_;          // held while the clsact filter is ours
};

}  // namespace vxt
