#include "kernel/tc_attach.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel/stale_filters.hpp"
#include "kernel/tc_filters.hpp"

namespace vxt {
namespace {

// Not in Debian 12's uapi headers (Linux 6.1); stable kernel ABI since 6.6.
constexpr int kBpfTcxIngress = 46;
constexpr uint32_t kBpfFBefore = 1u << 3;  // BPF_F_BEFORE: run ahead of the others
constexpr uint32_t kMaxPriority = 64;      // where we stop looking for a free one

uint32_t prog_id_of(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

// The device's ingress filters with our stale ones removed: the priorities still in use.
std::set<uint32_t> clean_up_ingress(int ifindex, const std::string& ifname, int prog_fd) {
  auto filters = list_ingress_filters(ifindex);
  if (!filters) {
    spdlog::debug("{}: cannot list tc filters ({}): no stale filter check", ifname,
                  filters.error().what());
    return {};
  }
  remove_stale_filters(*filters, ifindex, ifname, prog_fd);
  std::set<uint32_t> used;
  for (const auto& f : *filters) used.insert(f.priority);
  return used;
}

}  // namespace

bpf_tc_hook ingress_hook(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

Result<int> TcAttachment::attach_tcx(int ifindex, int prog_fd) {
  // An observer runs first, so it sees packets before another program redirects them;
  // it returns TCX_NEXT, so every program behind it still runs.
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = kBpfFBefore);
  int fd = bpf_link_create(prog_fd, ifindex, static_cast<bpf_attach_type>(kBpfTcxIngress), &opts);
  if (fd < 0) return errno_error("tcx attach", errno);
  return fd;
}

Result<TcAttachment> TcAttachment::attach(int ifindex, const std::string& ifname, int prog_fd,
                                          AttachMode mode) {
  // In tcx mode too: a stale filter of ours would keep running, counting into maps nobody reads.
  std::set<uint32_t> used = clean_up_ingress(ifindex, ifname, prog_fd);
  TcAttachment a(ifname, ifindex);
  if (mode != AttachMode::clsact) {
    auto fd = attach_tcx(ifindex, prog_fd);
    if (fd) {
      a.link_fd_ = *fd;
      return a;
    }
    if (mode == AttachMode::tcx)
      return Error{"cannot attach tcx on " + ifname + " (needs Linux >= 6.6)", fd.error().err};
    spdlog::debug("tcx unavailable on {} ({}), using clsact", ifname, fd.error().what());
  }
  // Claimed before the filter exists, so another vxtrace never sees it unclaimed.
  a.claim_.emplace(FilterClaim::take(ifindex, prog_id_of(prog_fd)));
  if (!a.claim_->valid())
    spdlog::debug("{}: no claim socket for the filter: guarded by /proc alone", ifname);
  if (auto r = a.attach_clsact(prog_fd, used); !r) return r.error();
  return a;
}

Result<void> TcAttachment::attach_clsact(int prog_fd, const std::set<uint32_t>& used) {
  bpf_tc_hook hook = ingress_hook(ifindex_);
  int err = bpf_tc_hook_create(&hook);  // EEXIST: someone's clsact is already there, share it
  if (err && err != -EEXIST) return errno_error("cannot create clsact qdisc on " + ifname_, err);
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = kClsactHandle);
  // Lowest free priority: run ahead of other filters, never replace one. Priorities in use
  // are skipped (one taken by another protocol's filter would fail with EINVAL); EEXIST is a
  // filter added since the list was read.
  err = -ENOSPC;
  for (uint32_t prio = 1; prio < kMaxPriority; ++prio) {
    if (used.contains(prio)) continue;
    opts.priority = prio;
    opts.prog_id = 0;
    err = bpf_tc_attach(&hook, &opts);
    if (err != -EEXIST) break;
  }
  if (err) return errno_error("cannot attach clsact filter on " + ifname_, err);
  tc_handle_ = opts.handle;
  tc_priority_ = opts.priority;
  return {};
}

TcAttachment::TcAttachment(TcAttachment&& o) noexcept
    : ifname_(std::move(o.ifname_)),
      ifindex_(o.ifindex_),
      link_fd_(o.link_fd_),
      tc_handle_(o.tc_handle_),
      tc_priority_(o.tc_priority_),
      claim_(std::move(o.claim_)) {
  o.link_fd_ = -1;
  o.tc_handle_ = 0;
}

TcAttachment::~TcAttachment() {
  if (link_fd_ >= 0) {
    close(link_fd_);  // the tcx link, and with it the attachment, goes away
    return;
  }
  if (tc_handle_ == 0) return;
  bpf_tc_hook hook = ingress_hook(ifindex_);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc_handle_, .priority = tc_priority_);
  // The qdisc stays: Calico or Cilium may own filters on it.
  if (int err = bpf_tc_detach(&hook, &opts))
    spdlog::warn("could not detach vxtrace filter from {}: {}", ifname_,
                 errno_error("", err).what());
}

}  // namespace vxt
