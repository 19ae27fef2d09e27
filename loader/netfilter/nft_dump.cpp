#include "netfilter/nft_dump.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/gen.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>

#include <cerrno>
#include <thread>
#include <vector>

namespace vxt::nf {
namespace {

// The kernel sizes a dump's messages after the largest buffer recvmsg() was given on the
// socket, at most 32 KiB; before any, one page. A rule that does not fit an empty message
// ends a dump as if it were complete, so every dump starts after a 32 KiB receive.
constexpr size_t kBuffer = 32768;
constexpr int kAttempts = 3;  // dumps interrupted by a ruleset change are read again

int on_rule(const nlmsghdr* nlh, void* data) {
  if (auto r = parse_rule(nlh)) static_cast<NftRuleset*>(data)->rules.push_back(std::move(*r));
  return MNL_CB_OK;
}

int on_chain(const nlmsghdr* nlh, void* data) {
  if (auto c = parse_chain(nlh))
    if (auto p = policy_rule(*c)) static_cast<NftRuleset*>(data)->rules.push_back(std::move(*p));
  return MNL_CB_OK;
}

int on_gen(const nlmsghdr* nlh, void* data) {
  std::unique_ptr<nftnl_gen, void (*)(const nftnl_gen*)> g(nftnl_gen_alloc(), nftnl_gen_free);
  if (g && nftnl_gen_nlmsg_parse(nlh, g.get()) == 0)
    *static_cast<uint32_t*>(data) = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
  return MNL_CB_OK;
}

}  // namespace

NftDumper::NftDumper(mnl_socket* nl) : nl_(nl) {}
NftDumper::~NftDumper() { mnl_socket_close(nl_); }

Result<std::unique_ptr<NftDumper>> NftDumper::open() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!nl) return errno_error("nfnetlink socket", errno);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return errno_error("nfnetlink bind", err);
  }
  return std::unique_ptr<NftDumper>(new NftDumper(nl));
}

Result<std::unique_ptr<NftDumper>> NftDumper::open_in(int netns_fd) {
  // A socket belongs to the namespace it was created in: make it on a thread that joined the
  // other namespace, so no other thread ever runs there.
  Result<std::unique_ptr<NftDumper>> out = Error{"not run"};
  std::thread t([&] {
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
      out = errno_error("setns into the drop's network namespace", errno);
      return;
    }
    out = open();
  });
  t.join();
  return out;
}

Result<void> NftDumper::dump(uint16_t type, int (*on_message)(const nlmsghdr*, void*), void* data) {
  std::vector<char> buf(kBuffer);
  uint32_t seq = ++seq_;
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
  nlh->nlmsg_flags = NLM_F_REQUEST | (type == NFT_MSG_GETGEN ? NLM_F_ACK : NLM_F_DUMP);
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = NFPROTO_UNSPEC;
  nfg->version = NFNETLINK_V0;
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return errno_error("nftables dump", errno);
  uint32_t portid = mnl_socket_get_portid(nl_);
  for (;;) {
    // ENOSPC: a message larger than the buffer was cut (MSG_TRUNC).
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) return errno_error("nftables dump", errno);
    int r = mnl_cb_run(buf.data(), n, seq, portid, on_message, data);
    if (r == MNL_CB_STOP) return {};
    // EINTR: NLM_F_DUMP_INTR, the ruleset changed while it was read.
    if (r < 0) return errno_error("nftables dump", errno);
  }
}

Result<uint32_t> NftDumper::generation() {
  uint32_t gen = 0;
  if (auto r = dump(NFT_MSG_GETGEN, on_gen, &gen); !r) return r.error();
  return gen;
}

Result<void> NftDumper::read_ruleset(NftRuleset& out) {
  auto before = generation();  // also makes the dumps' messages 32 KiB
  if (!before) return before.error();
  if (auto r = dump(NFT_MSG_GETRULE, on_rule, &out); !r) return r;
  if (auto r = dump(NFT_MSG_GETCHAIN, on_chain, &out); !r) return r;
  auto after = generation();
  if (!after) return after.error();
  if (*after != *before) return Error{"the ruleset changed while it was read", EINTR};
  out.generation = *after;
  return {};
}

Result<NftRuleset> NftDumper::ruleset() {
  for (int attempt = 1;; ++attempt) {
    NftRuleset out;
    auto r = read_ruleset(out);
    if (r) return out;
    if (r.error().err == ENOENT) return NftRuleset{};  // nf_tables not loaded in this namespace
    if (r.error().err != EINTR || attempt == kAttempts) return r.error();
  }
}

}  // namespace vxt::nf
