// vxtrace's BPF object: open, configure, load, and the kfree_skb attachment. RAII over
// the libbpf skeleton; everything it created goes away with it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "kernel/drop_reasons.hpp"
#include "kernel/kernel_btf.hpp"
#include "kernel/map_readers.hpp"
#include "sys/result.hpp"
#include "vxtrace/abi.h"

struct vxtrace_bpf;
struct bpf_link;
struct bpf_program;

namespace vxt {

struct BpfConfig {
  uint16_t vxlan_port = 4789;
  uint32_t stream_causes = 0;
  uint32_t ringbuf_bytes = 1u << 20;
  KfreeSkbArgs kfree_skb = KfreeSkbArgs::reason_rx_sk;  // which kfree_skb variant to load
  uint32_t mib_rpfilter = 0;                            // see KernelBtf
  uint32_t join_slots = VXT_JOIN_SLOTS_DEFAULT;         // per CPU, a power of two
  uint32_t event_rate = 0;  // events per second for the node, 0: unlimited
  bool capture = false;     // events carry the packet's bytes (--pcap)
  bool stack = false;       // events carry the kernel stack (--stack)
};

class BpfProgram {
 public:
  // Throws FatalError: without the programs loaded there is nothing to do.
  static std::unique_ptr<BpfProgram> load(const BpfConfig& config, const DropReasons& reasons);
  ~BpfProgram();
  BpfProgram(const BpfProgram&) = delete;
  BpfProgram& operator=(const BpfProgram&) = delete;

  // The drop site table (loader/drop_sites.hpp), before attach_drops().
  void set_drop_sites(const std::vector<vxt_drop_site>& sites);
  // This node's addresses (local_addresses.hpp); nullopt: unknown, every drop is ours.
  void set_node_addresses(const std::optional<std::vector<uint32_t>>& addrs);
  bool is_node_address(uint32_t addr_be) const;  // as the BPF side sees it
  Result<void> attach_drops();                   // kfree_skb tracepoint
  int underlay_prog_fd() const;
  int overlay_prog_fd() const;
  int events_fd() const;
  int drops_prog_fd() const;
  static uint32_t prog_id(int prog_fd);
  RawCounters read_counters() const;
  // Drop events not streamed although their cause was: ring full, or over the rate limit.
  uint64_t events_missed() const;

 private:
  explicit BpfProgram(vxtrace_bpf* skel) : skel_(skel) {}
  vxtrace_bpf* skel_;
  ::bpf_link* drops_link_ = nullptr;
  ::bpf_link* snapshot_link_ = nullptr;
  ::bpf_program* drops_prog_ = nullptr;
  std::vector<uint32_t> node_addrs_;  // what the node_addrs map holds
};

}  // namespace vxt
