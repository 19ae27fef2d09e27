#include "netfilter/nfnl_group.hpp"

#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

namespace vxt::nf {

Result<mnl_socket*> open_group(unsigned group, int buffer, const char* what) {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!nl) return errno_error("nfnetlink socket", errno);
  int err = 0;
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
      mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
    err = errno;
  if (err) {
    mnl_socket_close(nl);
    return errno_error(std::string("joining ") + what, err);
  }
  if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer)) < 0)
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  return nl;
}

void read_queued(mnl_socket* nl, size_t message, mnl_cb_t cb, void* data, bool& lost) {
  std::vector<char> buf(message);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0 && errno == ENOBUFS) {
      lost = true;
      continue;
    }
    if (n <= 0) return;  // EAGAIN: all read
    mnl_cb_run(buf.data(), n, 0, 0, cb, data);
  }
}

}  // namespace vxt::nf
