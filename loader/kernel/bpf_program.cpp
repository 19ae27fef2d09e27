#include "kernel/bpf_program.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "kernel/cause_table.hpp"
#include "kernel/kallsyms.hpp"
#include "kernel/libbpf_log.hpp"
#include "kernel/load_errors.hpp"
#include "kernel/map_readers.hpp"
#include "kernel/preflight.hpp"
#include "vxtrace.skel.h"

namespace vxt {
namespace {

bool kernel_has_percpu_lookup() {
  return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_map_lookup_percpu_elem,
                                 nullptr) == 1;
}

}  // namespace

std::unique_ptr<BpfProgram> BpfProgram::load(const BpfConfig& config, const DropReasons& reasons) {
  vxtrace_bpf* skel = vxtrace_bpf__open();
  if (!skel) throw FatalError(errno_error("cannot open the BPF object", errno));
  std::unique_ptr<BpfProgram> prog(new BpfProgram(skel));

  if (skel->rodata->abi_version != VXT_ABI_VERSION)
    throw FatalError("BPF object ABI " + std::to_string(skel->rodata->abi_version) +
                     " does not match the loader's " + std::to_string(VXT_ABI_VERSION));
  skel->rodata->vxlan_port = config.vxlan_port;
  skel->rodata->capture = config.capture;
  skel->rodata->stack = config.stack;
  skel->rodata->stream_causes = config.stream_causes;
  skel->rodata->parse_causes = ~(1u << VXT_CAUSE_BACKGROUND) | config.stream_causes;
  // Indexed by KfreeSkbArgs: one variant per tracepoint prototype.
  std::array variants{skel->progs.vxt_kfree_skb_no_reason, skel->progs.vxt_kfree_skb_no_rx_sk,
                      skel->progs.vxt_kfree_skb};
  prog->drops_prog_ = variants.at(static_cast<size_t>(config.kfree_skb));
  for (auto* v : variants)
    if (v != prog->drops_prog_) bpf_program__set_autoload(v, false);
  // Only a kernel without drop reasons needs rp_filter's per-packet snapshot.
  bool snapshots = config.kfree_skb == KfreeSkbArgs::location && config.mib_rpfilter;
  uint64_t per_cpu_offset = snapshots ? kallsyms_address("__per_cpu_offset") : 0;
  if (snapshots && !per_cpu_offset) {
    spdlog::warn(
        "__per_cpu_offset not in /proc/kallsyms (needs CAP_SYSLOG): rp_filter drops are "
        "`other` on this kernel");
    snapshots = false;
  }
  bpf_program__set_autoload(skel->progs.vxt_rx_snapshot, snapshots);
  skel->rodata->mib_rpfilter = snapshots ? config.mib_rpfilter : 0;
  skel->rodata->per_cpu_offset_addr = per_cpu_offset;
  if (int err = bpf_map__set_max_entries(skel->maps.events, config.ringbuf_bytes))
    throw FatalError(errno_error("bad ring buffer size", err));
  // The reader is woken when a quarter of the ring waits, and otherwise reads on its own
  // clock (every poll timeout, 100 ms): a storm then costs a few hundred wakeups a second,
  // not one per reader round trip, and three quarters of the ring stay free for the burst
  // that arrives while the reader wakes.
  skel->rodata->wakeup_bytes = config.ringbuf_bytes / 4;
  // The tunnel join's slots: per-CPU arrays, or where another CPU's cannot be read, one
  // array of every CPU's slots; the map not in use keeps a single entry.
  int cpus = libbpf_num_possible_cpus();
  bool percpu = kernel_has_percpu_lookup();
  skel->rodata->percpu_lookup = percpu;
  if (int err = bpf_map__set_max_entries(skel->maps.tunnel_join, percpu ? config.join_slots : 1))
    throw FatalError(errno_error("bad tunnel-join size", err));
  if (int err = bpf_map__set_max_entries(skel->maps.join_by_cpu,
                                         percpu ? 1 : config.join_slots * std::max(cpus, 1)))
    throw FatalError(errno_error("bad tunnel-join size", err));
  skel->rodata->join_slot_mask = config.join_slots - 1;
  skel->rodata->nr_cpus = cpus;
  if (config.event_rate) {
    // One bucket per CPU, each refilled at rate / CPUs, holding up to a second of credit.
    // Online CPUs, not possible ones: only those drop packets and share the rate.
    uint64_t online = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
    uint64_t cost_ns = 1'000'000'000ull * online / config.event_rate;
    skel->rodata->event_cost_ns = cost_ns;
    skel->rodata->event_burst_ns = std::max<uint64_t>(cost_ns, 1'000'000'000ull);
  }

  LibbpfLogCapture capture;
  int err = vxtrace_bpf__load(skel);
  if (err) {
    spdlog::debug("libbpf while loading:\n{}", capture.log());
    throw FatalError(load_failure(err, capture.log(), kernel_release()));
  }

  // The reason table is data in .bss: filled after load, before the tracepoint attaches.
  for (const auto& r : reasons.entries())
    if (r.value < VXT_MAX_REASONS)
      skel->bss->reason_cause[r.value] = reason_table_entry(r.name, reasons.from_kernel());
  return prog;
}

void BpfProgram::set_drop_sites(const std::vector<vxt_drop_site>& sites) {
  size_t n = std::min<size_t>(sites.size(), VXT_MAX_SITES);
  std::copy_n(sites.begin(), n, skel_->bss->drop_sites);
  skel_->bss->nr_drop_sites = static_cast<uint32_t>(n);
}

void BpfProgram::set_node_addresses(const std::optional<std::vector<uint32_t>>& addrs) {
  int fd = bpf_map__fd(skel_->maps.node_addrs);
  const std::vector<uint32_t> none;
  const auto& want = addrs ? *addrs : none;
  if (want == node_addrs_ && skel_->bss->node_addrs_known == (addrs ? 1U : 0U)) return;
  // Add before removing and announce last, so a drop in between never misses an address
  // that stays.
  uint8_t one = 1;
  for (uint32_t a : want) bpf_map_update_elem(fd, &a, &one, BPF_ANY);
  for (uint32_t a : node_addrs_)
    if (!std::binary_search(want.begin(), want.end(), a)) bpf_map_delete_elem(fd, &a);
  node_addrs_ = want;
  // Void every CPU's cached hit (the removed address may be one), then announce.
  __atomic_add_fetch(&skel_->bss->node_addrs_gen, 1, __ATOMIC_SEQ_CST);
  skel_->bss->node_addrs_known = addrs ? 1 : 0;
}

bool BpfProgram::is_node_address(uint32_t addr_be) const {
  if (!skel_->bss->node_addrs_known) return true;
  return std::binary_search(node_addrs_.begin(), node_addrs_.end(), addr_be);
}

BpfProgram::~BpfProgram() {
  bpf_link__destroy(drops_link_);
  bpf_link__destroy(snapshot_link_);
  vxtrace_bpf__destroy(skel_);
}

Result<void> BpfProgram::attach_drops() {
  if (bpf_program__autoload(skel_->progs.vxt_rx_snapshot)) {
    snapshot_link_ = bpf_program__attach(skel_->progs.vxt_rx_snapshot);
    if (!snapshot_link_)
      return errno_error("cannot attach to tracepoint net:netif_receive_skb", errno);
  }
  drops_link_ = bpf_program__attach(drops_prog_);
  if (!drops_link_) return errno_error("cannot attach to tracepoint skb:kfree_skb", errno);
  return {};
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
  read_percpu_array(bpf_map__fd(skel_->maps.drop_counts), c.drop_slots);
  read_percpu_array(bpf_map__fd(skel_->maps.stats), c.stats);
  PeerCounters peers{c.peer_rx, c.peer_drops};
  read_peers({bpf_map__fd(skel_->maps.peer_slots), bpf_map__fd(skel_->maps.peer_rx),
              bpf_map__fd(skel_->maps.peer_drops)},
             peers);
  return c;
}

uint64_t BpfProgram::events_missed() const {
  std::array<uint64_t, VXT_STAT_COUNT> stats{};
  read_percpu_array(bpf_map__fd(skel_->maps.stats), stats);
  return stats[VXT_STAT_LOST_EVENTS] + stats[VXT_STAT_EVENTS_LIMITED];
}

}  // namespace vxt
