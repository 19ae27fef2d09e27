#include "tracer/tracer.hpp"

#include <spdlog/spdlog.h>

#include "decode/net_format.hpp"
#include "kernel/drop_sites.hpp"
#include "kernel/kernel_btf.hpp"
#include "kernel/libbpf_log.hpp"
#include "kernel/preflight.hpp"
#include "sys/interfaces.hpp"
#include "sys/local_addresses.hpp"

namespace vxt {
namespace {

struct Target {
  Interface iface;
  bool overlay;
};

// --iface devices must exist; the VXLAN device is optional (a node without pods yet).
std::vector<Target> resolve_targets(const TracerConfig& c) {
  std::vector<std::string> names = c.ifaces;
  if (names.empty()) {
    auto dev = default_route_device();
    if (!dev)
      throw FatalError(
          "no default route in this network namespace: name the underlay with --iface");
    names.push_back(*dev);
  }
  std::vector<Target> targets;
  bool have_vxlan = false;
  for (const auto& n : names) {
    targets.push_back({must(find_interface(n)), n == c.vxlan_dev});
    have_vxlan |= n == c.vxlan_dev;
  }
  if (!have_vxlan) {
    if (auto vx = find_interface(c.vxlan_dev))
      targets.push_back({*vx, true});
    else
      spdlog::warn(
          "{} not found: watching the underlay only (drops after decapsulation are still "
          "joined to their tunnel)",
          c.vxlan_dev);
  }
  return targets;
}

KernelBtf load_kernel_btf() {
  must(check_btf());
  return must(read_kernel_btf());
}

}  // namespace

Tracer::Tracer(const TracerConfig& c, DropHandler on_drop, Devices devices)
    : attach_mode_(c.attach_mode), selected_(c.stream_causes) {
  must(check_capabilities());  // first: without them, nothing else is worth saying
  must(ensure_file_descriptors());
  // Built while the rest starts (~50-100 ms of reading); the first decode waits if need be.
  symbols_ = Symbolizer::from_proc_async([](size_t symbols) {
    if (symbols == 0) spdlog::warn("/proc/kallsyms unreadable: locations shown as addresses");
  });
  route_libbpf_logs();
  auto kernel = load_kernel_btf();
  reasons_ = std::move(kernel.reasons);
  auto targets = devices == Devices::from_options ? resolve_targets(c) : std::vector<Target>{};

  bpf_ = BpfProgram::load(
      {c.vxlan_port, bpf_stream_mask(c.stream_causes), c.ringbuf_kib * 1024, kernel.kfree_skb,
       kernel.mib_rpfilter, c.join_slots, c.event_rate, c.capture, c.stack},
      reasons_);
  // Where the kernel names no reason, the freeing function does: its address range comes
  // from the symbol table built meanwhile.
  auto sites = resolve_drop_sites(symbols_);
  if (sites.empty())
    spdlog::warn(
        "no drop sites found in /proc/kallsyms (needs CAP_SYSLOG): drops the kernel gives no "
        "reason for are {}",
        reasons_.from_kernel() ? "background" : "other");
  bpf_->set_drop_sites(sites);
  start_ = {VXTRACE_VERSION, kernel_release(), c.node, {}};
  for (const auto& t : targets) start_.attached.push_back(must(attach_device(t.iface, t.overlay)));
  refresh_node_addresses();
  must(bpf_->attach_drops());
  start_.attached.push_back({"*", "tp_btf", "drops", BpfProgram::prog_id(bpf_->drops_prog_fd())});

  int64_t clock_offset = monotonic_to_unix_offset_ns();
  decoder_ = std::make_unique<EventDecoder>(reasons_, symbols_, clock_offset, c.vxlan_port);
  on_drop_ = std::move(on_drop);
  hand_on_ = [this](const DropRecord& r) { hand_on(r); };
  nf::RuleAttribution::Hooks hooks{
      [this] { return bpf_->events_missed() + (reader_ ? reader_->malformed() : 0); },
      clock_offset};
  rules_ = std::make_unique<nf::RuleAttribution>(std::move(hooks));
  reader_ = must(
      RingReader::open(bpf_->events_fd(), [this](const vxt_drop_event& e, const DropEvidence& ev) {
        rules_->add(decoder_->decode(e, ev), hand_on_);
      }));
}

Tracer::~Tracer() = default;

int Tracer::poll(int timeout_ms) {
  // Records waiting for their rule are handed on within a few poll rounds, not a timeout.
  if (rules_->waiting())
    timeout_ms = std::min<int>(timeout_ms, nf::RuleAttribution::kMinGap.count());
  int64_t before = nf::monotonic_ns();  // every drop before it is read by poll()
  int n = reader_->poll(timeout_ms);
  rules_->flush(hand_on_, before);
  if (std::chrono::steady_clock::now() - addrs_read_ >= std::chrono::seconds(1))
    refresh_node_addresses();
  return n;
}

// Once a second: an address added to the node (a new underlay IP) counts from then on.
void Tracer::refresh_node_addresses() {
  addrs_read_ = std::chrono::steady_clock::now();
  auto addrs = local_ipv4_addresses(VXT_MAX_NODE_ADDRS);
  if (!addrs && !warned_addrs_) {
    warned_addrs_ = true;
    spdlog::warn(
        "this node's IPv4 addresses are unreadable or more than {}: drops in other nodes' "
        "namespaces on this kernel may count against this node's peers",
        VXT_MAX_NODE_ADDRS);
  }
  bpf_->set_node_addresses(addrs);
}

void Tracer::drain() {
  while (reader_->poll(0) > 0) {
  }
  rules_->flush(hand_on_, nf::monotonic_ns(), true);
}

// Every record leaves with its final cause: where the kernel counted it against its peer under
// another, the summary moves that count; then --causes selects by it.
void Tracer::hand_on(const DropRecord& r) {
  if (Cause counted = kernel_cause(r); counted != r.cause && counted_per_peer(r))
    ++events_.moved[{r.tunnel->peer, counted, r.cause}];
  if (!wanted(r, selected_)) {
    ++events_.filtered;
    return;
  }
  on_drop_(r);
}

// As BPF decides it (addressed_here()): joined drops, and outer ones addressed to this node.
bool Tracer::counted_per_peer(const DropRecord& r) const {
  return r.tunnel &&
         (r.tunnel->source == TunnelSource::joined || bpf_->is_node_address(r.tunnel->local));
}

EventTotals Tracer::event_totals() const {
  EventTotals t = events_;
  t.malformed_records = reader_->malformed();
  return t;
}

Summary Tracer::summary() const {
  return build_summary(raw_counters(), reasons_, rules_->totals(), event_totals());
}

RawCounters Tracer::raw_counters() const { return bpf_->read_counters(); }

Result<AttachedHook> Tracer::attach_device(const Interface& iface, bool overlay) {
  int fd = overlay ? bpf_->overlay_prog_fd() : bpf_->underlay_prog_fd();
  auto a = TcAttachment::attach(iface.ifindex, iface.name, fd, attach_mode_);
  if (!a) return a.error();
  AttachedHook hook{escape_bytes(a->ifname()), a->hook(), overlay ? "overlay" : "underlay",
                    BpfProgram::prog_id(fd)};
  attachments_.emplace_back(iface.ifindex, std::move(*a));
  return hook;
}

bool Tracer::detach_device(int ifindex) {
  return attachments_.remove_if([&](const auto& a) { return a.first == ifindex; }) > 0;
}

}  // namespace vxt
