#include "netfilter/rule_watch.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>

#include "netfilter/nft_parse.hpp"

namespace vxt::nf {
namespace {

constexpr int kReceiveBuffer = 4 << 20;  // a whole ruleset flushed at once fits

int on_message(const nlmsghdr* nlh, void* data) {
  if ((nlh->nlmsg_type & 0xFF) != NFT_MSG_DELRULE) return MNL_CB_OK;
  if (auto r = parse_rule(nlh)) static_cast<std::vector<NftRule>*>(data)->push_back(std::move(*r));
  return MNL_CB_OK;
}

}  // namespace

Result<std::unique_ptr<RuleWatch>> RuleWatch::open() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!nl) return errno_error("nfnetlink socket", errno);
  std::unique_ptr<RuleWatch> w(new RuleWatch(nl));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) return errno_error("nfnetlink bind", errno);
  int group = NFNLGRP_NFTABLES;
  if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
    return errno_error("joining nftables' ruleset group", errno);
  int size = kReceiveBuffer;
  if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  return w;
}

RuleWatch::~RuleWatch() { mnl_socket_close(nl_); }

std::vector<NftRule> RuleWatch::deleted(bool& lost) {
  std::vector<NftRule> out;
  std::vector<char> buf(32768);  // rules as large as a dump's
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0 && errno == ENOBUFS) {
      lost = true;
      continue;
    }
    if (n <= 0) return out;
    mnl_cb_run(buf.data(), n, 0, 0, on_message, &out);
  }
}

}  // namespace vxt::nf
