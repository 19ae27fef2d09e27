#include "bpf_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <string>

#include "cause_table.hpp"
#include "map_readers.hpp"
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
  if (int err = bpf_map__set_max_entries(skel->maps.tunnel_join, config.join_slots))
    throw FatalError(errno_error("bad tunnel-join size", err));
  skel->rodata->join_slot_mask = config.join_slots - 1;
  skel->rodata->nr_cpus = libbpf_num_possible_cpus();
  if (config.event_rate) {
    // One bucket per CPU, each refilled at rate / CPUs, holding up to a second of credit.
    // Online CPUs, not possible ones: only those drop packets and share the rate.
    uint64_t online = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
    uint64_t cost_ns = 1'000'000'000ull * online / config.event_rate;
    skel->rodata->event_cost_ns = cost_ns;
    skel->rodata->event_burst_ns = std::max<uint64_t>(cost_ns, 1'000'000'000ull);
  }

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
  read_percpu_array(bpf_map__fd(skel_->maps.drop_counts), c.drop_slots);
  read_percpu_array(bpf_map__fd(skel_->maps.stats), c.stats);
  PeerCounters peers{c.peer_rx, c.peer_drops};
  read_peers({bpf_map__fd(skel_->maps.peer_slots), bpf_map__fd(skel_->maps.peer_rx),
              bpf_map__fd(skel_->maps.peer_drops)},
             peers);
  return c;
}

}  // namespace vxt
