#include "kernel/tc_filters.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

namespace vxt {
namespace {

template <size_t N>
struct Attrs {
  const nlattr* at[N + 1] = {};
};

template <size_t N>
int store(const nlattr* a, void* data) {
  auto* t = static_cast<Attrs<N>*>(data);
  if (mnl_attr_get_type(a) <= N) t->at[mnl_attr_get_type(a)] = a;
  return MNL_CB_OK;
}

// Present and of the size its type says: never read past an attribute.
bool is(const nlattr* a, mnl_attr_data_type type) { return a && mnl_attr_validate(a, type) >= 0; }

struct SocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

}  // namespace

bool parse_tc_filter(const nlmsghdr* nlh, TcFilter& out) {
  if (nlh->nlmsg_type != RTM_NEWTFILTER || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(tcmsg)))
    return false;
  const auto* tcm = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
  out = {};
  out.handle = tcm->tcm_handle;
  out.priority = TC_H_MAJ(tcm->tcm_info) >> 16;
  out.protocol = ntohs(static_cast<uint16_t>(TC_H_MIN(tcm->tcm_info)));
  Attrs<TCA_MAX> tca;
  mnl_attr_parse(nlh, sizeof(tcmsg), store<TCA_MAX>, &tca);
  if (is(tca.at[TCA_KIND], MNL_TYPE_NUL_STRING)) out.kind = mnl_attr_get_str(tca.at[TCA_KIND]);
  if (is(tca.at[TCA_CHAIN], MNL_TYPE_U32)) out.chain = mnl_attr_get_u32(tca.at[TCA_CHAIN]);
  if (out.kind != "bpf" || !is(tca.at[TCA_OPTIONS], MNL_TYPE_NESTED)) return true;
  Attrs<TCA_BPF_MAX> bpf;
  mnl_attr_parse_nested(tca.at[TCA_OPTIONS], store<TCA_BPF_MAX>, &bpf);
  if (is(bpf.at[TCA_BPF_ID], MNL_TYPE_U32)) out.prog_id = mnl_attr_get_u32(bpf.at[TCA_BPF_ID]);
  if (is(bpf.at[TCA_BPF_NAME], MNL_TYPE_NUL_STRING))
    out.name = mnl_attr_get_str(bpf.at[TCA_BPF_NAME]);
  if (const nlattr* tag = bpf.at[TCA_BPF_TAG];
      tag && mnl_attr_get_payload_len(tag) >= out.prog_tag.size())
    std::memcpy(out.prog_tag.data(), mnl_attr_get_payload(tag), out.prog_tag.size());
  return true;
}

Result<std::vector<TcFilter>> list_ingress_filters(int ifindex) {
  std::unique_ptr<mnl_socket, SocketCloser> sock(mnl_socket_open(NETLINK_ROUTE));
  if (!sock) return errno_error("netlink socket", errno);
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return errno_error("netlink bind", errno);

  char req[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = RTM_GETTFILTER;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = static_cast<uint32_t>(time(nullptr));
  auto* tcm = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  tcm->tcm_ifindex = ifindex;
  tcm->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);  // no clsact: an empty dump
  if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0)
    return errno_error("netlink send", errno);

  std::vector<TcFilter> filters;
  auto on_msg = [](const nlmsghdr* m, void* data) {
    TcFilter f;
    if (parse_tc_filter(m, f)) static_cast<std::vector<TcFilter>*>(data)->push_back(std::move(f));
    return MNL_CB_OK;
  };
  std::vector<char> buf(32768);  // MNL_SOCKET_DUMP_SIZE, absent from libmnl 1.0.4
  const unsigned port = mnl_socket_get_portid(sock.get());
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
    if (n < 0) return errno_error("netlink receive", errno);
    int rc = mnl_cb_run(buf.data(), n, nlh->nlmsg_seq, port, on_msg, &filters);
    if (rc == MNL_CB_STOP) return filters;
    if (rc < 0) return errno_error("tc filter dump", errno);
  }
}

}  // namespace vxt
