#include "kernel/filter_claim.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace vxt {
namespace {

// Binds the claim's name on a new socket: the fd, or -errno.
int bind_claim(int ifindex, uint32_t prog_id) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract: sun_path[0] is NUL, the name is the bytes after it, not NUL-terminated.
  std::string name = "vxtrace/clsact/" + std::to_string(ifindex) + "/" + std::to_string(prog_id);
  name.copy(addr.sun_path + 1, sizeof(addr.sun_path) - 1);
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

}  // namespace

FilterClaim FilterClaim::take(int ifindex, uint32_t prog_id) {
  int fd = bind_claim(ifindex, prog_id);
  return FilterClaim(fd < 0 ? -1 : fd);
}

bool FilterClaim::held(int ifindex, uint32_t prog_id) {
  int fd = bind_claim(ifindex, prog_id);
  if (fd < 0) return true;  // EADDRINUSE: its owner lives; anything else: cannot tell
  close(fd);                // free: nobody holds it, and now nobody does again
  return false;
}

FilterClaim::~FilterClaim() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace vxt
