#include "kernel/map_readers.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

namespace vxt {
namespace {

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

// Reads a whole per-CPU array as `count` keys x ncpus values in one batch syscall (3.5k
// entries: one lookup each would cost milliseconds per summary), else key by key.
// Calls fn(key, value) for every CPU's value.
template <typename Value, typename Fn>
void for_each_percpu_array(int fd, uint32_t count, Fn&& fn) {
  size_t ncpus = libbpf_num_possible_cpus();
  uint32_t n = count, out_batch = 0;
  std::vector<uint32_t> keys(count);
  std::vector<Value> values(count * ncpus);
  if (bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), values.data(), &n, nullptr) == 0 ||
      errno == ENOENT) {
    for (uint32_t i = 0; i < n; ++i)
      for (size_t cpu = 0; cpu < ncpus; ++cpu) fn(keys[i], values[i * ncpus + cpu]);
    return;
  }
  for (uint32_t key = 0; key < count; ++key) {
    if (bpf_map_lookup_elem(fd, &key, values.data())) continue;
    for (size_t cpu = 0; cpu < ncpus; ++cpu) fn(key, values[cpu]);
  }
}

void add(vxt_peer_rx& sum, const vxt_peer_rx& v) {
  sum.packets += v.packets;
  sum.bytes += v.bytes;
  sum.decapsulated += v.decapsulated;
}

}  // namespace

void read_percpu_array(int fd, std::span<uint64_t> out) {
  for_each_percpu_array<uint64_t>(fd, out.size(), [&](uint32_t key, uint64_t v) { out[key] += v; });
}

void read_peers(const PeerMaps& fds, PeerCounters& out) {
  for_each_percpu_array<vxt_peer_slot>(fds.slots, VXT_PEER_SLOTS,
                                       [&](uint32_t, const vxt_peer_slot& s) {
                                         if (s.rx.packets || s.rx.decapsulated)
                                           add(out.rx[s.peer], s.rx);
                                         for (uint32_t cause = 0; cause < VXT_CAUSE_COUNT; ++cause)
                                           if (s.drops[cause])
                                             out.drops[{s.peer, cause}] += s.drops[cause];
                                       });
  for_each_percpu<vxt_peer_rx>(fds.rx_overflow, sizeof(uint32_t),
                               [&](const void* key, const std::vector<vxt_peer_rx>& vals) {
                                 auto& sum = out.rx[*static_cast<const uint32_t*>(key)];
                                 for (const auto& v : vals) add(sum, v);
                               });
  for_each_percpu<uint64_t>(fds.drops_overflow, sizeof(vxt_peer_drop_key),
                            [&](const void* key, const std::vector<uint64_t>& vals) {
                              const auto* k = static_cast<const vxt_peer_drop_key*>(key);
                              auto& sum = out.drops[{k->peer, k->cause}];
                              for (auto v : vals) sum += v;
                            });
}

}  // namespace vxt
