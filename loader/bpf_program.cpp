#include "bpf_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdarg>
#include <string>

#include "cause_table.hpp"
#include "vxtrace.skel.h"

namespace vxt {
namespace {

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string msg(n > 0 ? n : 0, '\0');
  vsnprintf(msg.data(), msg.size() + 1, fmt, args);  // a verifier log can be long
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  // bpf_tc_hook_create() on a device that already has clsact (Calico's, Cilium's) is
  // expected to fail with EEXIST; the kernel's extack for it is not worth a warning.
  if (msg.find("Exclusivity flag on") != std::string::npos) level = LIBBPF_DEBUG;
  if (level == LIBBPF_WARN)
    spdlog::warn("libbpf: {}", msg);
  else if (level == LIBBPF_INFO)
    spdlog::debug("libbpf: {}", msg);
  else
    spdlog::trace("libbpf: {}", msg);
  return n;
}

template <typename Value, typename Fn>
void for_each_percpu(int fd, size_t key_size, Fn&& fn) {
  int ncpus = libbpf_num_possible_cpus();
  std::vector<Value> values(ncpus);
  std::vector<unsigned char> key(key_size), next(key_size);
  void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    if (bpf_map_lookup_elem(fd, next.data(), values.data()) == 0) fn(next.data(), values);
    key = next;
    prev = key.data();
  }
}

// Sums a per-CPU u64 array into `out` in one batch syscall (3.5k entries: one lookup
// each would cost milliseconds per summary), falling back to single lookups.
void read_percpu_array(int fd, std::vector<uint64_t>& out) {
  size_t ncpus = libbpf_num_possible_cpus();
  uint32_t count = out.size(), out_batch = 0;
  std::vector<uint32_t> keys(count);
  std::vector<uint64_t> values(count * ncpus);
  if (bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), values.data(), &count, nullptr) ==
          0 ||
      errno == ENOENT) {
    for (uint32_t i = 0; i < count; ++i)
      for (size_t cpu = 0; cpu < ncpus; ++cpu) out[keys[i]] += values[i * ncpus + cpu];
    return;
  }
  for (uint32_t key = 0; key < out.size(); ++key) {
    if (bpf_map_lookup_elem(fd, &key, values.data())) continue;
    for (size_t cpu = 0; cpu < ncpus; ++cpu) out[key] += values[cpu];
  }
}

}  // namespace

void route_libbpf_logs() { libbpf_set_print(libbpf_print); }

std::unique_ptr<BpfProgram> BpfProgram::load(const BpfConfig& config, const DropReasons& reasons) {
  vxtrace_bpf* skel = vxtrace_bpf__open();
  if (!skel) throw FatalError(errno_error("cannot open the BPF object", errno));
  std::unique_ptr<BpfProgram> prog(new BpfProgram(skel));

  if (skel->rodata->abi_version != VXT_ABI_VERSION)
    throw FatalError("BPF object ABI " + std::to_string(skel->rodata->abi_version) +
                     " does not match the loader's " + std::to_string(VXT_ABI_VERSION));
  skel->rodata->vxlan_port = config.vxlan_port;
  skel->rodata->stream_causes = config.stream_causes;
  skel->rodata->parse_causes = ~(1u << VXT_CAUSE_BACKGROUND) | config.stream_causes;
  prog->drops_prog_ =
      config.kfree_skb_has_rx_sk ? skel->progs.vxt_kfree_skb : skel->progs.vxt_kfree_skb_no_rx_sk;
  bpf_program__set_autoload(
      config.kfree_skb_has_rx_sk ? skel->progs.vxt_kfree_skb_no_rx_sk : skel->progs.vxt_kfree_skb,
      false);
  if (int err = bpf_map__set_max_entries(skel->maps.events, config.ringbuf_bytes))
    throw FatalError(errno_error("bad ring buffer size", err));

  if (int err = vxtrace_bpf__load(skel))
    throw FatalError(errno_error(
        "cannot load the BPF programs (needs CAP_BPF, CAP_PERFMON and a kernel with BTF)", err));

  // The reason table is data in .bss: filled after load, before the tracepoint attaches.
  for (const auto& r : reasons.entries())
    if (r.value < VXT_MAX_REASONS) skel->bss->reason_cause[r.value] = cause_for_reason(r.name);
  return prog;
}

BpfProgram::~BpfProgram() {
  bpf_link__destroy(drops_link_);
  vxtrace_bpf__destroy(skel_);
}

Result<bool> BpfProgram::attach_drops() {
  drops_link_ = bpf_program__attach(drops_prog_);
  if (!drops_link_) return errno_error("cannot attach to tracepoint skb:kfree_skb", errno);
  return true;
}

int BpfProgram::underlay_prog_fd() const { return bpf_program__fd(skel_->progs.vxt_tc_underlay); }
int BpfProgram::overlay_prog_fd() const { return bpf_program__fd(skel_->progs.vxt_tc_overlay); }
int BpfProgram::drops_prog_fd() const { return bpf_program__fd(drops_prog_); }

uint32_t BpfProgram::prog_id(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

int BpfProgram::events_fd() const { return bpf_map__fd(skel_->maps.events); }

RawCounters BpfProgram::read_counters() const {
  RawCounters c;
  int ncpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> percpu(ncpus);
  read_percpu_array(bpf_map__fd(skel_->maps.drop_counts), c.drop_slots);
  int stats_fd = bpf_map__fd(skel_->maps.stats);
  for (uint32_t i = 0; i < VXT_STAT_COUNT; ++i) {
    if (bpf_map_lookup_elem(stats_fd, &i, percpu.data())) continue;
    for (auto v : percpu) c.stats[i] += v;
  }
  for_each_percpu<vxt_peer_rx>(bpf_map__fd(skel_->maps.peer_rx), sizeof(uint32_t),
                               [&](const void* key, const std::vector<vxt_peer_rx>& vals) {
                                 auto& sum = c.peer_rx[*static_cast<const uint32_t*>(key)];
                                 for (const auto& v : vals) {
                                   sum.packets += v.packets;
                                   sum.bytes += v.bytes;
                                   sum.decapsulated += v.decapsulated;
                                 }
                               });
  for_each_percpu<uint64_t>(bpf_map__fd(skel_->maps.peer_drops), sizeof(vxt_peer_drop_key),
                            [&](const void* key, const std::vector<uint64_t>& vals) {
                              const auto* k = static_cast<const vxt_peer_drop_key*>(key);
                              auto& sum = c.peer_drops[{k->peer, k->cause}];
                              for (auto v : vals) sum += v;
                            });
  return c;
}

}  // namespace vxt
