// A live vxtrace's claim on a clsact filter it attached: an abstract unix socket named after
// the device and the program, bound for as long as the filter is there. The kernel closes it
// however the process ends, SIGKILL included, so a claim that can be bound again means its
// owner is gone. Abstract socket names belong to the network namespace, as the devices do,
// and are seen from every PID namespace in it: a vxtrace in another container on the same node
// (hostNetwork without hostPID, as the DaemonSet runs) still sees it where /proc would not.
#pragma once

#include <cstdint>

namespace vxt {

class FilterClaim {
 public:
  // Binds the claim; an invalid claim (fd -1) when the socket cannot be made, e.g. a seccomp
  // profile without AF_UNIX. The filter is then guarded by the /proc scan alone.
  static FilterClaim take(int ifindex, uint32_t prog_id);
  // Whether a live process holds the claim. True too when it cannot be told (the socket is
  // refused): a filter is only ever removed when its owner is known to be gone.
  static bool held(int ifindex, uint32_t prog_id);

  FilterClaim(FilterClaim&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FilterClaim& operator=(FilterClaim&&) = delete;
  FilterClaim(const FilterClaim&) = delete;
  ~FilterClaim();
  bool valid() const { return fd_ >= 0; }

 private:
  explicit FilterClaim(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace vxt
