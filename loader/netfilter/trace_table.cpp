#include "netfilter/trace_table.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <functional>
#include <vector>

namespace vxt::nf {
namespace {

constexpr const char* kSet = "flows";
constexpr uint32_t kSetId = 1;
constexpr int kPriority = -1000;  // before raw (-300) and conntrack: every packet of the flow

// libnftnl's free functions take const pointers.
template <typename T, auto Free>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Table = std::unique_ptr<nftnl_table, Deleter<nftnl_table, nftnl_table_free>>;
using Chain = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain, nftnl_chain_free>>;
using Set = std::unique_ptr<nftnl_set, Deleter<nftnl_set, nftnl_set_free>>;
using Rule = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule, nftnl_rule_free>>;

mnl_socket* open_socket() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    mnl_socket_close(nl);
    return nullptr;
  }
  return nl;
}

// One nf_tables transaction: every message applies, or none. Ours are a few hundred bytes.
class Batch {
 public:
  explicit Batch(uint32_t& seq, bool ack = true)
      : seq_(seq),
        ack_(ack),
        buf_(2 * MNL_SOCKET_BUFFER_SIZE),
        b_(mnl_nlmsg_batch_start(buf_.data(), MNL_SOCKET_BUFFER_SIZE)) {
    nftnl_batch_begin(current(), seq_++);
    mnl_nlmsg_batch_next(b_);
  }
  ~Batch() { mnl_nlmsg_batch_stop(b_); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // `build` fills the message's payload.
  void add(uint16_t type, uint16_t flags, const std::function<void(nlmsghdr*)>& build) {
    auto* nlh = nftnl_nlmsg_build_hdr(current(), type, NFPROTO_INET, flags | (ack_ ? NLM_F_ACK : 0),
                                      seq_++);
    build(nlh);
    mnl_nlmsg_batch_next(b_);
    ++messages_;
  }
  Result<void> send(mnl_socket* nl) {
    nftnl_batch_end(current(), seq_++);
    mnl_nlmsg_batch_next(b_);
    if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b_), mnl_nlmsg_batch_size(b_)) < 0)
      return errno_error("nftables batch", errno);
    return {};
  }
  // Sends, and waits for the kernel's answer to every message.
  Result<void> commit(mnl_socket* nl) {
    if (auto r = send(nl); !r) return r;
    // Every message is answered, also in a batch that failed: read them all, so no answer is
    // left for the next batch to take for its own.
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    int first_error = 0;
    for (int answered = 0; answered < messages_;) {
      ssize_t got = mnl_socket_recvfrom(nl, buf.data(), buf.size());
      if (got < 0) return errno_error("nftables batch", errno);
      int n = static_cast<int>(got);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(h, n);
           h = mnl_nlmsg_next(h, &n)) {
        if (h->nlmsg_type != NLMSG_ERROR) continue;
        int err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(h))->error;
        if (err != 0 && first_error == 0) first_error = -err;
        ++answered;
      }
    }
    if (first_error != 0) return errno_error("nftables batch", first_error);
    return {};
  }

 private:
  char* current() { return static_cast<char*>(mnl_nlmsg_batch_current(b_)); }
  uint32_t& seq_;
  bool ack_;
  std::vector<char> buf_;
  mnl_nlmsg_batch* b_;
  int messages_ = 0;
};

void add_expr(nftnl_rule* r, const char* name, const std::function<void(nftnl_expr*)>& set) {
  nftnl_expr* e = nftnl_expr_alloc(name);
  set(e);
  nftnl_rule_add_expr(r, e);
}

// meta nfproto ipv4  ip saddr . ip daddr . meta l4proto @flows  meta nftrace set 1
Rule trace_rule(const std::string& table, const char* chain) {
  Rule r(nftnl_rule_alloc());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain);
  add_expr(r.get(), "meta", [](nftnl_expr* e) {
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFPROTO);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG32_00);
  });
  add_expr(r.get(), "cmp", [](nftnl_expr* e) {
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG32_00);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
    nftnl_expr_set_u8(e, NFTNL_EXPR_CMP_DATA, NFPROTO_IPV4);
  });
  for (auto field : {std::pair{12U, NFT_REG32_00}, std::pair{16U, NFT_REG32_01}}) {
    add_expr(r.get(), "payload", [&](nftnl_expr* e) {  // saddr, daddr
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, field.first);
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 4);
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, field.second);
    });
  }
  add_expr(r.get(), "meta", [](nftnl_expr* e) {  // one byte, the register's rest zeroed
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG32_02);
  });
  add_expr(r.get(), "lookup", [](nftnl_expr* e) {
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, kSet);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, kSetId);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
  });
  add_expr(r.get(), "immediate", [](nftnl_expr* e) {
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG32_03);
    nftnl_expr_set_u8(e, NFTNL_EXPR_IMM_DATA, 1);
  });
  add_expr(r.get(), "meta", [](nftnl_expr* e) {
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFTRACE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG32_03);
  });
  return r;
}

Result<void> build(mnl_socket* nl, uint32_t& seq, const std::string& name, bool owned) {
  Batch b(seq);
  Table t(nftnl_table_alloc());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  if (owned) nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
  b.add(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
        [&](nlmsghdr* h) { nftnl_table_nlmsg_build_payload(h, t.get()); });

  Set s(nftnl_set_alloc());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, name.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, kSet);
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, kSetId);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, 12);  // saddr, daddr, l4proto in a 32-bit reg
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);
  nftnl_set_set_u64(
      s.get(), NFTNL_SET_TIMEOUT,
      std::chrono::duration_cast<std::chrono::milliseconds>(TraceTable::kFlowTimeout).count());
  nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, TraceTable::kMaxFlows);
  b.add(NFT_MSG_NEWSET, NLM_F_CREATE,
        [&](nlmsghdr* h) { nftnl_set_nlmsg_build_payload(h, s.get()); });

  for (auto [chain, hook] :
       {std::pair{"prerouting", NF_INET_PRE_ROUTING}, std::pair{"output", NF_INET_LOCAL_OUT}}) {
    Chain c(nftnl_chain_alloc());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, name.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, chain);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, kPriority);
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
    b.add(NFT_MSG_NEWCHAIN, NLM_F_CREATE,
          [&](nlmsghdr* h) { nftnl_chain_nlmsg_build_payload(h, c.get()); });
    Rule r = trace_rule(name, chain);
    b.add(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
          [&](nlmsghdr* h) { nftnl_rule_nlmsg_build_payload(h, r.get()); });
  }
  return b.commit(nl);
}

Result<void> delete_table(mnl_socket* nl, uint32_t& seq, const std::string& name) {
  Batch b(seq);
  Table t(nftnl_table_alloc());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  b.add(NFT_MSG_DELTABLE, 0, [&](nlmsghdr* h) { nftnl_table_nlmsg_build_payload(h, t.get()); });
  return b.commit(nl);
}

// A failed set addition comes back as an error message nobody waits for: read and say it.
void drain_errors(mnl_socket* nl) {
  char buf[4096];
  for (;;) {
    ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) return;
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); mnl_nlmsg_ok(h, len);
         h = mnl_nlmsg_next(h, &len))
      if (h->nlmsg_type == NLMSG_ERROR)
        if (int err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(h))->error; err != 0)
          spdlog::debug("adding a flow to the trace set: {}", std::strerror(-err));
  }
}

}  // namespace

TraceTable::TraceTable(mnl_socket* nl, std::string name, bool owned)
    : nl_(nl), name_(std::move(name)), owned_(owned) {}

TraceTable::~TraceTable() {
  if (!owned_)
    if (auto r = delete_table(nl_, seq_, name_); !r)
      spdlog::warn("removing nftables table inet {}: {}", name_, r.error().what());
  mnl_socket_close(nl_);  // an owned table goes with its socket
}

Result<std::unique_ptr<TraceTable>> TraceTable::create() {
  mnl_socket* nl = open_socket();
  if (!nl) return errno_error("nfnetlink socket", errno);
  std::string name = std::string(kTraceTablePrefix) + std::to_string(getpid());
  uint32_t seq = 1;
  bool owned = true;
  auto r = build(nl, seq, name, owned);
  // Before 5.12 there is no owner flag: EINVAL (EOPNOTSUPP from 5.12 on for later flags).
  if (!r && (r.error().err == EINVAL || r.error().err == EOPNOTSUPP)) {
    owned = false;
    r = build(nl, seq, name, owned);
  }
  if (!r) {
    mnl_socket_close(nl);
    return Error{"creating nftables table inet " + name + ": " + r.error().what(), r.error().err};
  }
  auto t = std::unique_ptr<TraceTable>(new TraceTable(nl, name, owned));
  t->seq_ = seq;
  return t;
}

bool TraceTable::trace(const TracedFlow& f) {
  auto now = Clock::now();
  auto it = added_.find(f);
  if (it != added_.end() && now - it->second < kFlowRefresh) return true;
  if (now - second_ >= std::chrono::seconds(1)) {
    second_ = now;
    added_this_second_ = 0;
    std::erase_if(added_, [&](const auto& kv) { return now - kv.second >= kFlowTimeout; });
  }
  if (added_this_second_ >= kFlowsPerSecond || added_.size() >= kMaxFlows) {
    ++rate_limited_;
    return false;
  }
  ++added_this_second_;
  added_[f] = now;
  drain_errors(nl_);
  uint8_t key[12] = {};
  std::memcpy(key, &f.src, 4);
  std::memcpy(key + 4, &f.dst, 4);
  key[8] = f.proto;
  std::unique_ptr<nftnl_set, Deleter<nftnl_set, nftnl_set_free>> s(nftnl_set_alloc());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, name_.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, kSet);
  nftnl_set_elem* e = nftnl_set_elem_alloc();
  nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
  nftnl_set_elem_add(s.get(), e);
  // Not waited for: a failure (the set full) arrives later and is only logged.
  Batch b(seq_, false);
  b.add(NFT_MSG_NEWSETELEM, NLM_F_CREATE,
        [&](nlmsghdr* h) { nftnl_set_elems_nlmsg_build_payload(h, s.get()); });
  if (auto r = b.send(nl_); !r)
    spdlog::debug("adding a flow to the trace set: {}", r.error().what());
  else
    ++commits_;
  return true;
}

namespace {

int on_table(const nlmsghdr* nlh, void* data) {
  Table t(nftnl_table_alloc());
  if (t && nftnl_table_nlmsg_parse(nlh, t.get()) == 0 &&
      nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY) == NFPROTO_INET)
    static_cast<std::vector<std::string>*>(data)->emplace_back(
        nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME));
  return MNL_CB_OK;
}

}  // namespace

int remove_stale_trace_tables() {
  std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)> nl(open_socket(), mnl_socket_close);
  if (!nl) return 0;
  uint32_t seq = 1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  auto* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_DUMP, seq);
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) return 0;
  std::vector<std::string> tables;
  uint32_t portid = mnl_socket_get_portid(nl.get());
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf, sizeof(buf));
    if (n <= 0 || mnl_cb_run(buf, n, seq, portid, on_table, &tables) <= 0) break;
  }
  int removed = 0;
  for (const auto& t : tables) {
    if (!is_trace_table(t)) continue;
    int pid = 0;
    auto digits = std::string_view(t).substr(kTraceTablePrefix.size());
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (ec != std::errc{} || end != digits.data() + digits.size() || pid <= 0) continue;
    if (std::filesystem::exists("/proc/" + std::to_string(pid))) continue;
    if (delete_table(nl.get(), ++seq, t)) ++removed;
  }
  return removed;
}

}  // namespace vxt::nf
