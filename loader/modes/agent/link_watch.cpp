#include "modes/agent/link_watch.hpp"

#include <linux/if.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <vector>

#include "sys/nl_socket.hpp"

namespace vxt::agent {
namespace {

constexpr size_t kRecvBuf = 32768;

int apply_cb(const nlmsghdr* nlh, void* data) {
  if (auto e = parse_link_message(nlh)) static_cast<LinkTable*>(data)->apply(*e);
  return MNL_CB_OK;
}

}  // namespace

std::optional<LinkEvent> parse_link_message(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) return std::nullopt;
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  auto attrs = parse_attrs<IFLA_MAX>(nlh, sizeof(ifinfomsg));
  const nlattr* name = attrs[IFLA_IFNAME];
  if (!name || mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0) return std::nullopt;
  return LinkEvent{nlh->nlmsg_type == RTM_NEWLINK, ifi->ifi_index, mnl_attr_get_str(name)};
}

Result<LinkWatch> LinkWatch::open() {
  LinkWatch w;
  w.sock_.reset(mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!w.sock_) return errno_error("netlink socket", errno);
  if (mnl_socket_bind(w.sock_.get(), RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
    return errno_error("netlink bind to link events", errno);
  if (auto r = w.resync(); !r) return r.error();
  w.resyncs_ = 0;
  return w;
}

// A full dump on a socket of its own, so its replies never mix with the event stream.
Result<void> LinkWatch::resync() {
  auto nl = NlSocket::open(NETLINK_ROUTE);
  if (!nl) return nl.error();
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* req = mnl_nlmsg_put_header(buf.data());
  req->nlmsg_type = RTM_GETLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(req, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  LinkTable fresh;
  auto r = nl->dump(req, [&](const nlmsghdr* m) { apply_cb(m, &fresh); });
  if (!r) return r.error();
  table_ = std::move(fresh);
  ++resyncs_;
  return {};
}

Result<bool> LinkWatch::drain() {
  std::vector<char> buf(kRecvBuf);
  bool changed = false;
  for (int i = 0; i < 4096; ++i) {  // bounded: a link storm cannot starve the ring buffer
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return changed;
    if (n < 0 && errno == ENOBUFS) {
      // The kernel dropped events: what we know may be stale. Discard the rest, re-read all.
      for (int j = 0; j < 4096 && mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size()) > 0;
           ++j) {
      }
      if (auto r = resync(); !r) return r.error();
      return true;
    }
    if (n < 0) return errno_error("netlink receive", errno);
    mnl_cb_run(buf.data(), n, 0, 0, apply_cb, &table_);
    changed = true;
  }
  return changed;
}

}  // namespace vxt::agent
