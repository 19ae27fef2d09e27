#include "kernel/stale_filters.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "kernel/filter_claim.hpp"
#include "kernel/tc_attach.hpp"

namespace vxt {
namespace {

bool is_tc_program_name(std::string_view name) {
  return std::find(kTcProgramNames.begin(), kTcProgramNames.end(), name) != kTcProgramNames.end();
}

std::optional<ProgIdentity> read_prog_identity(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);  // EPERM without CAP_SYS_ADMIN, ENOENT once freed
  if (fd < 0) return std::nullopt;
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  int err = bpf_obj_get_info_by_fd(fd, &info, &len);
  close(fd);
  if (err) return std::nullopt;
  return ProgIdentity{info.name, info.type};
}

BpfTag prog_tag(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  BpfTag tag{};
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0)
    std::copy(std::begin(info.tag), std::end(info.tag), tag.begin());
  return tag;
}

std::string read_small_file(int dirfd, const char* name) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
}

bool all_digits(const char* s) {
  if (!*s) return false;
  for (; *s; ++s)
    if (!std::isdigit(static_cast<unsigned char>(*s))) return false;
  return true;
}

// Program ids held through a program or link fd by any process this one can see and read
// (/proc/PID/fd needs the same credentials as ptrace-read). Only BPF fds' fdinfo is read:
// a node has many fds, few of them BPF's.
std::set<uint32_t> prog_ids_held_by_processes() {
  std::set<uint32_t> ids;
  DIR* proc = opendir("/proc");
  if (!proc) return ids;
  while (dirent* p = readdir(proc)) {
    if (!all_digits(p->d_name)) continue;
    std::string base = std::string("/proc/") + p->d_name;
    DIR* fds = opendir((base + "/fd").c_str());
    if (!fds) continue;  // gone, or not ours to read
    int info_dir = open((base + "/fdinfo").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (dirent* f = readdir(fds)) {
      if (!all_digits(f->d_name) || info_dir < 0) continue;
      char target[64];
      ssize_t n = readlinkat(dirfd(fds), f->d_name, target, sizeof(target) - 1);
      if (n <= 0) continue;
      std::string_view link(target, static_cast<size_t>(n));
      if (link != "anon_inode:bpf-prog" && link != "anon_inode:bpf_link") continue;
      if (auto id = fdinfo_prog_id(read_small_file(info_dir, f->d_name))) ids.insert(*id);
    }
    if (info_dir >= 0) close(info_dir);
    closedir(fds);
  }
  closedir(proc);
  return ids;
}

// Deletes the filter at its handle and priority, if it still holds the same program.
int remove_filter(int ifindex, const TcFilter& f) {
  bpf_tc_hook hook = ingress_hook(ifindex);
  LIBBPF_OPTS(bpf_tc_opts, query, .handle = f.handle, .priority = f.priority);
  if (int err = bpf_tc_query(&hook, &query)) return err;
  if (query.prog_id != f.prog_id) return -ESTALE;  // replaced since the dump
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f.handle, .priority = f.priority);
  return bpf_tc_detach(&hook, &opts);
}

}  // namespace

FilterVerdict judge_filter(const TcFilter& f, const std::optional<ProgIdentity>& prog,
                           const BpfTag& attaching_tag, const std::function<bool()>& held) {
  // Exactly what TcAttachment's bpf_tc_attach sets, or someone else's.
  if (f.kind != "bpf" || f.chain != 0 || f.protocol != ETH_P_ALL || f.handle != kClsactHandle ||
      f.prog_id == 0)
    return FilterVerdict::foreign;
  if (prog) {
    if (prog->type != BPF_PROG_TYPE_SCHED_CLS || !is_tc_program_name(prog->name))
      return FilterVerdict::foreign;
  } else if (f.prog_tag != attaching_tag || attaching_tag == BpfTag{}) {
    return FilterVerdict::unidentified;
  }
  return held() ? FilterVerdict::live : FilterVerdict::stale;
}

std::optional<uint32_t> fdinfo_prog_id(std::string_view fdinfo) {
  constexpr std::string_view key = "prog_id:";
  for (size_t pos = 0; pos < fdinfo.size();) {
    size_t end = fdinfo.find('\n', pos);
    if (end == std::string_view::npos) end = fdinfo.size();
    std::string_view line = fdinfo.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, key.size()) != key) continue;
    line.remove_prefix(key.size());
    while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
    uint32_t id = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
    if (ec == std::errc{} && p != line.data() && id != 0) return id;
  }
  return std::nullopt;
}

void remove_stale_filters(std::vector<TcFilter>& filters, int ifindex, const std::string& ifname,
                          int prog_fd) {
  const BpfTag tag = prog_tag(prog_fd);
  std::optional<std::set<uint32_t>> held_ids;  // the /proc scan, once, and only if needed
  std::set<uint32_t> removed_prios;
  std::erase_if(filters, [&](const TcFilter& f) {
    auto held = [&] {
      if (FilterClaim::held(ifindex, f.prog_id)) return true;
      if (!held_ids) held_ids = prog_ids_held_by_processes();
      return held_ids->count(f.prog_id) > 0;
    };
    FilterVerdict v = judge_filter(
        f, f.handle == kClsactHandle ? read_prog_identity(f.prog_id) : std::nullopt, tag, held);
    if (v == FilterVerdict::unidentified)
      spdlog::debug(
          "{}: filter prio {} (prog {}) has vxtrace's handle but an unknown program "
          "(reading it needs CAP_SYS_ADMIN): left alone",
          ifname, f.priority, f.prog_id);
    if (v == FilterVerdict::live)
      spdlog::debug("{}: filter prio {} (prog {}) belongs to a running vxtrace", ifname, f.priority,
                    f.prog_id);
    if (v != FilterVerdict::stale) return false;
    removed_prios.insert(f.priority);
    int err = remove_filter(ifindex, f);
    if (err == -ENOENT) return true;  // another vxtrace starting beside us was quicker
    if (err) {
      spdlog::warn("could not remove a stale vxtrace filter from {} (ingress prio {}, prog {}): {}",
                   ifname, f.priority, f.prog_id, errno_error("", err).what());
      return false;
    }
    spdlog::warn(
        "removed a stale vxtrace filter from {} (ingress prio {}, prog {}) left by a vxtrace that "
        "did not exit cleanly",
        ifname, f.priority, f.prog_id);
    return true;
  });
  // The kernel drops a priority's classifier with its last filter; the dump's header entry
  // for it (handle 0) goes too, so the priority reads as free again.
  for (uint32_t prio : removed_prios) {
    bool in_use = std::any_of(filters.begin(), filters.end(), [&](const TcFilter& f) {
      return f.priority == prio && f.handle != 0;
    });
    if (!in_use) std::erase_if(filters, [&](const TcFilter& f) { return f.priority == prio; });
  }
}

}  // namespace vxt
