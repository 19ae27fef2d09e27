#include "sys/nl_socket.hpp"

#include <ctime>
#include <vector>

namespace vxt {

Result<NlSocket> NlSocket::open(int bus) {
  NlSocket s;
  s.sock_.reset(mnl_socket_open(bus));
  if (!s.sock_) return errno_error("netlink socket", errno);
  if (mnl_socket_bind(s.sock_.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return errno_error("netlink bind", errno);
  s.port_ = mnl_socket_get_portid(s.sock_.get());
  return s;
}

Result<void> NlSocket::dump(nlmsghdr* req, const std::function<void(const nlmsghdr*)>& on_msg) {
  req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req->nlmsg_seq = static_cast<uint32_t>(time(nullptr));
  if (mnl_socket_sendto(sock_.get(), req, req->nlmsg_len) < 0)
    return errno_error("netlink send", errno);
  std::vector<char> buf(32768);  // MNL_SOCKET_DUMP_SIZE, absent from libmnl 1.0.4
  auto cb = [](const nlmsghdr* nlh, void* data) {
    (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(nlh);
    return MNL_CB_OK;
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0) return errno_error("netlink receive", errno);
    int rc = mnl_cb_run(buf.data(), n, req->nlmsg_seq, port_, cb,
                        const_cast<std::function<void(const nlmsghdr*)>*>(&on_msg));
    if (rc == MNL_CB_STOP) return {};
    if (rc < 0) return errno_error("netlink dump", errno);
  }
}

}  // namespace vxt
