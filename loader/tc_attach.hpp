// One BPF program on one device's tc ingress, detached when this object dies.
// tcx links (Linux >= 6.6) also vanish if the process is killed; on older kernels the
// program goes in as a clsact direct-action filter, and only that filter is removed.
#pragma once

#include <string>

#include "result.hpp"

namespace vxt {

enum class AttachMode { automatic, tcx, clsact };

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
  std::string ifname_;
  int ifindex_;
  int link_fd_ = -1;
  uint32_t tc_handle_ = 0, tc_priority_ = 0;  // clsact filter, when link_fd_ < 0
};

}  // namespace vxt
