// A libmnl netlink socket as an RAII object, with one dump helper: every reader
// that talks to rtnetlink or nfnetlink sends one dump request through it.
#pragma once

#include <libmnl/libmnl.h>

#include <functional>
#include <memory>

#include "sys/result.hpp"

namespace vxt {

class NlSocket {
 public:
  static Result<NlSocket> open(int bus);  // NETLINK_ROUTE, NETLINK_NETFILTER
  // Sends `req` (an NLM_F_DUMP request built in `buf`) and calls `on_msg` for each reply.
  Result<void> dump(nlmsghdr* req, const std::function<void(const nlmsghdr*)>& on_msg);

 private:
  struct Closer {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };
  std::unique_ptr<mnl_socket, Closer> sock_;
  unsigned port_ = 0;
};

// Nested-attribute parsing into a table indexed by type, as libmnl examples do.
template <size_t N>
struct AttrTable {
  const nlattr* at[N + 1] = {};
  const nlattr* operator[](size_t i) const { return i <= N ? at[i] : nullptr; }
};

template <size_t N>
int store_attr(const nlattr* a, void* data) {
  auto* tab = static_cast<AttrTable<N>*>(data);
  if (mnl_attr_get_type(a) <= N) tab->at[mnl_attr_get_type(a)] = a;
  return MNL_CB_OK;
}

template <size_t N>
AttrTable<N> parse_attrs(const nlmsghdr* nlh, size_t header_len) {
  AttrTable<N> t;
  mnl_attr_parse(nlh, header_len, store_attr<N>, &t);
  return t;
}

template <size_t N>
AttrTable<N> parse_nested(const nlattr* nest) {
  AttrTable<N> t;
  mnl_attr_parse_nested(nest, store_attr<N>, &t);
  return t;
}

}  // namespace vxt
