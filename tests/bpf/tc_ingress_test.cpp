// The tc programs run with BPF_PROG_TEST_RUN on crafted frames: what they count and
// remember, and that they leave every packet exactly as it was.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <numeric>
#include <random>

#include "kernel/map_readers.hpp"
#include "packet_builder.hpp"
#include "vxtrace.skel.h"
#include "vxtrace/abi.h"

namespace vxt::test {
namespace {

constexpr int kTcActUnspec = -1;

struct SkelDeleter {
  void operator()(vxtrace_bpf* s) const { vxtrace_bpf__destroy(s); }
};

// Run twice: with the join in per-CPU arrays read across CPUs by
// bpf_map_lookup_percpu_elem (Linux >= 5.19), and in one array split by CPU (older kernels).
class TcIngressTest : public ::testing::TestWithParam<bool> {
 protected:
  static bool percpu_lookup() { return GetParam(); }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF)";
    skel_.reset(vxtrace_bpf__open());
    ASSERT_TRUE(skel_) << "BPF object failed to open";
    int cpus = libbpf_num_possible_cpus();
    skel_->rodata->nr_cpus = cpus;
    skel_->rodata->percpu_lookup = percpu_lookup();
    if (!percpu_lookup()) {
      bpf_map__set_max_entries(skel_->maps.tunnel_join, 1);
      bpf_map__set_max_entries(skel_->maps.join_by_cpu, VXT_JOIN_SLOTS_DEFAULT * cpus);
    }
    ASSERT_EQ(vxtrace_bpf__load(skel_.get()), 0) << "BPF object failed to load";
    // The join is per CPU: runs pinned to one CPU see one array, as one NIC queue would.
    ASSERT_EQ(sched_getaffinity(0, sizeof(saved_), &saved_), 0);
    pin(0);
  }
  void TearDown() override { sched_setaffinity(0, sizeof(saved_), &saved_); }
  static void pin(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  }

  // Runs `prog` on `frame`; asserts it passed the packet on untouched.
  void run(bpf_program* prog, const Bytes& frame) {
    Bytes out(frame.size() + 64);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(frame.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
    EXPECT_EQ(static_cast<int>(opts.retval), kTcActUnspec) << "an observer must not end the chain";
    ASSERT_EQ(opts.data_size_out, frame.size());
    out.resize(opts.data_size_out);
    EXPECT_EQ(out, frame) << "the packet was modified";
  }
  void underlay(const Bytes& f) { run(skel_->progs.vxt_tc_underlay, f); }
  void overlay(const Bytes& f) { run(skel_->progs.vxt_tc_overlay, f); }

  vxt_peer_rx peer(const char* addr) {
    auto peers = read_all_peers();
    auto it = peers.find(ip(addr));
    return it == peers.end() ? vxt_peer_rx{} : it->second;
  }
  std::map<uint32_t, vxt_peer_rx> read_all_peers() {
    std::map<uint32_t, vxt_peer_rx> rx;
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> drops;
    PeerCounters out{rx, drops};
    read_peers({bpf_map__fd(skel_->maps.peer_slots), bpf_map__fd(skel_->maps.peer_rx),
                bpf_map__fd(skel_->maps.peer_drops)},
               out);
    return rx;
  }
  uint64_t stat(uint32_t which) {
    std::vector<uint64_t> v(libbpf_num_possible_cpus());
    bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &which, v.data());
    return std::accumulate(v.begin(), v.end(), uint64_t{0});
  }
  static vxt_flow_key key_of(const Ip4Packet& inner) {
    return {inner.src,   inner.dst, htons(inner.sport), htons(inner.dport), htons(inner.id),
            inner.proto, 0};
  }
  static uint32_t slot_of(const vxt_flow_key& k) {
    return vxt_join_hash(&k) & (VXT_JOIN_SLOTS_DEFAULT - 1);
  }
  // Reads the join slot of `inner` the way the kfree_skb program does: on any CPU.
  bool tunnel_for(const Ip4Packet& inner, vxt_tunnel* t) {
    vxt_flow_key k = key_of(inner);
    uint32_t i = slot_of(k);
    std::vector<vxt_join_slot> percpu(libbpf_num_possible_cpus());
    if (percpu_lookup()) {
      if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.tunnel_join), &i, percpu.data()))
        return false;
    } else {
      for (uint32_t cpu = 0; cpu < percpu.size(); ++cpu) {
        uint32_t k = cpu * VXT_JOIN_SLOTS_DEFAULT + i;
        if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.join_by_cpu), &k, &percpu[cpu]))
          return false;
      }
    }
    for (const auto& s : percpu) {
      if (s.seq == 0 || s.seq % 2 || vxt_flow_key_lo(&s.key) != vxt_flow_key_lo(&k) ||
          vxt_flow_key_hi(&s.key) != vxt_flow_key_hi(&k))
        continue;
      *t = s.tunnel;
      return true;
    }
    return false;
  }

  std::unique_ptr<vxtrace_bpf, SkelDeleter> skel_;
  cpu_set_t saved_;
};

TEST_P(TcIngressTest, CountsVxlanPerPeerAndRemembersTheTunnel) {
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10"), 6, 4242, 33000, 80};
  Bytes f = vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, inner.build());
  for (int i = 0; i < 3; ++i) underlay(f);
  underlay(vxlan_frame(ip("192.0.2.3"), ip("192.0.2.2"), 4096, inner.build()));

  EXPECT_EQ(peer("192.0.2.1").packets, 3u);
  EXPECT_EQ(peer("192.0.2.1").bytes, 3 * f.size());
  EXPECT_EQ(peer("192.0.2.3").packets, 1u);
  vxt_tunnel t{};
  ASSERT_TRUE(tunnel_for(inner, &t));
  EXPECT_EQ(t.peer, ip("192.0.2.3"));  // the latest packet with that identity
  EXPECT_EQ(t.local, ip("192.0.2.2"));
  EXPECT_EQ(t.vni, 4096u);
  EXPECT_EQ(t.source, VXT_TUNNEL_JOINED);
  EXPECT_EQ(t.outer_sport, htons(40000));
}

TEST_P(TcIngressTest, IgnoresTrafficThatIsNotVxlanToOurPort) {
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10")};
  underlay(vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, inner.build(), 8472));
  underlay(ethernet(Ip4Packet{ip("192.0.2.1"), ip("192.0.2.2"), 17, 9, 5000, 53}.build()));
  underlay(ethernet(Bytes(28, 0), 0x0806));  // ARP
  EXPECT_EQ(peer("192.0.2.1").packets, 0u);
  EXPECT_EQ(stat(VXT_STAT_TC_UNDERLAY_PKTS), 3u);
  EXPECT_EQ(stat(VXT_STAT_TC_VXLAN_PKTS), 0u);
}

TEST_P(TcIngressTest, MalformedVxlanIsCountedNotTrusted) {
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10")};
  Bytes f = vxlan_frame(ip("192.0.2.9"), ip("192.0.2.2"), 4096, inner.build());
  Bytes truncated(f.begin(), f.begin() + 14 + 20 + 8 + 8 + 14 + 10);  // inner IP cut short
  underlay(truncated);
  Bytes no_vni_flag = f;
  no_vni_flag[14 + 20 + 8] = 0;
  underlay(no_vni_flag);
  Bytes garbage(f.begin(), f.begin() + 14 + 20 + 8);  // UDP header, no VXLAN at all
  underlay(garbage);
  EXPECT_EQ(peer("192.0.2.9").packets, 3u);  // they did arrive from that peer
  EXPECT_EQ(stat(VXT_STAT_TC_MALFORMED), 3u);
  vxt_tunnel t{};
  EXPECT_FALSE(tunnel_for(inner, &t));
}

// Bytes past the outer IPv4 total length, or past the UDP length, are not the packet (a
// driver's padding, or a reused buffer's stale bytes): a VXLAN header there is not parsed.
TEST_P(TcIngressTest, NothingPastTheIpOrUdpLengthIsParsed) {
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10"), 17, 7, 5000, 53};
  Bytes f = vxlan_frame(ip("192.0.2.7"), ip("192.0.2.2"), 4096, inner.build());
  Bytes short_ip = f;
  short_ip[14 + 2] = 0, short_ip[14 + 3] = 28;  // IPv4 total length: IP + UDP header only
  underlay(short_ip);
  Bytes short_udp = f;
  short_udp[14 + 20 + 4] = 0, short_udp[14 + 20 + 5] = 8;  // UDP length: the header only
  underlay(short_udp);
  EXPECT_EQ(peer("192.0.2.7").packets, 2u);  // they did arrive from that peer
  EXPECT_EQ(stat(VXT_STAT_TC_MALFORMED), 2u);
  vxt_tunnel t{};
  EXPECT_FALSE(tunnel_for(inner, &t));
  underlay(f);  // the same bytes with true lengths are parsed
  EXPECT_TRUE(tunnel_for(inner, &t));
}

TEST_P(TcIngressTest, OverlayCountsWhatSurvivedDecapsulation) {
  Ip4Packet a{ip("10.244.1.10"), ip("10.244.2.10"), 17, 1, 5000, 53};
  Ip4Packet b{ip("10.244.1.10"), ip("10.244.2.10"), 17, 2, 5000, 53};
  underlay(vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, a.build()));
  underlay(vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, b.build()));
  overlay(ethernet(a.build()));  // b died before the VXLAN device
  overlay(ethernet(Ip4Packet{ip("10.244.3.10"), ip("10.244.2.10")}.build()));  // unknown
  EXPECT_EQ(peer("192.0.2.1").packets, 2u);
  EXPECT_EQ(peer("192.0.2.1").decapsulated, 1u);
  EXPECT_EQ(stat(VXT_STAT_TC_OVERLAY_PKTS), 2u);
}

// The join is direct-mapped: a newer identity that hashes to the same slot replaces the
// older one, which then no longer matches (rather than matching the wrong tunnel).
TEST_P(TcIngressTest, AnIdentityIsForgottenWhenAnotherTakesItsSlot) {
  Ip4Packet first{ip("10.244.1.10"), ip("10.244.2.10"), 17, 1, 5000, 53};
  vxt_flow_key k1 = key_of(first), k2;
  Ip4Packet second = first;
  do {  // about VXT_JOIN_SLOTS_DEFAULT tries
    ++second.id;
    k2 = key_of(second);
  } while (slot_of(k2) != slot_of(k1));
  underlay(vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, first.build()));
  vxt_tunnel t{};
  ASSERT_TRUE(tunnel_for(first, &t));
  EXPECT_EQ(t.peer, ip("192.0.2.1"));
  underlay(vxlan_frame(ip("192.0.2.3"), ip("192.0.2.2"), 4096, second.build()));
  EXPECT_FALSE(tunnel_for(first, &t));
  ASSERT_TRUE(tunnel_for(second, &t));
  EXPECT_EQ(t.peer, ip("192.0.2.3"));
}

// A packet received on one CPU and seen again (or dropped) on another is still joined, by
// searching the other CPUs' arrays.
TEST_P(TcIngressTest, JoinFindsATunnelRecordedOnAnotherCpu) {
  if (libbpf_num_possible_cpus() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
    GTEST_SKIP() << "needs two CPUs";
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10"), 17, 9, 5000, 53};
  underlay(vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, inner.build()));
  pin(1);
  overlay(ethernet(inner.build()));
  EXPECT_EQ(peer("192.0.2.1").decapsulated, 1u);
  EXPECT_EQ(stat(VXT_STAT_JOIN_OTHER_CPU), 1u);
}

// 0.0.0.0 is how a slot says it is free: a packet claiming that source must not leave its
// counts in a slot the next peer takes over.
TEST_P(TcIngressTest, PeerZeroNeverSharesASlot) {
  uint32_t zero = 0, b = ip("198.51.100.1");
  for (uint32_t n = 1; vxt_peer_slot_of(b) != vxt_peer_slot_of(zero); ++n)
    b = htonl(ntohl(ip("198.51.100.1")) + n);  // synthetic frames only
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10"), 17, 7, 5000, 53};
  underlay(vxlan_frame(zero, ip("192.0.2.2"), 4096, inner.build()));
  for (int i = 0; i < 4; ++i) underlay(vxlan_frame(b, ip("192.0.2.2"), 4096, inner.build()));
  auto peers = read_all_peers();
  EXPECT_EQ(peers[zero].packets, 1u);
  EXPECT_EQ(peers[b].packets, 4u);
}

// Peers share the per-CPU slot array; one whose slot is taken is counted in the hash, and
// the readers add both.
TEST_P(TcIngressTest, PeersWhoseSlotIsTakenAreStillCountedExactly) {
  // Synthetic frames only (BPF_PROG_TEST_RUN): b walks up from 198.51.100.1 until it collides.
  uint32_t a = ip("192.0.2.1"), b = ip("198.51.100.1");
  for (uint32_t n = 1; vxt_peer_slot_of(b) != vxt_peer_slot_of(a); ++n)
    b = htonl(ntohl(ip("198.51.100.1")) + n);
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10"), 17, 7, 5000, 53};
  for (int i = 0; i < 3; ++i) underlay(vxlan_frame(a, ip("192.0.2.2"), 4096, inner.build()));
  for (int i = 0; i < 5; ++i) underlay(vxlan_frame(b, ip("192.0.2.2"), 4096, inner.build()));
  overlay(ethernet(inner.build()));  // the latest packet with that identity came from b
  auto peers = read_all_peers();
  EXPECT_EQ(peers[a].packets, 3u);
  EXPECT_EQ(peers[b].packets, 5u);
  EXPECT_EQ(peers[b].decapsulated, 1u);
  EXPECT_EQ(stat(VXT_STAT_PEER_MAP_FULL), 0u);
}

// 100,000 malformed and random frames per run (200,000 over both join variants) through
// both programs: each passes on untouched with TC_ACT_UNSPEC (run() checks every byte), and
// the counts stay exact: every frame counted once, none more VXLAN than it can be.
TEST_P(TcIngressTest, MalformedAndRandomFramesPassUntouched) {
  std::mt19937 rng(20261124);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10"), 6, 1, 40000, 80};
  const Bytes good = vxlan_frame(ip("192.0.2.5"), ip("192.0.2.2"), 4096, inner.build());
  // Header fields a lying or broken sender gets wrong: outer IHL, total length, fragment,
  // protocol, UDP length, VXLAN flags, inner ethertype, inner IHL and total length.
  const size_t fields[] = {14, 16, 17, 20, 23, 38, 39, 42, 62, 63, 64, 66, 67, 70};
  constexpr int kFrames = 100'000;
  uint64_t vxlan_possible = 0;
  for (int i = 0; i < kFrames; ++i) {
    Bytes f = good;
    switch (i % 6) {
      case 0: f.resize(34 + pick(f.size() - 34)); break;  // cut anywhere after the IP header
      case 1:
        for (int k = 0; k < 3; ++k)
          f[fields[pick(std::size(fields))]] = static_cast<uint8_t>(rng());
        break;
      case 2: {                       // random bytes after an IPv4 Ethernet header
        f.assign(34 + pick(300), 0);  // (test runs refuse IPv4 shorter than its header)
        for (size_t k = 14; k < f.size(); ++k) f[k] = static_cast<uint8_t>(rng());
        f[12] = 0x08, f[13] = 0x00;
        break;
      }
      case 3: {  // VXLAN in VXLAN, or a non-IPv4 inner frame
        Bytes nested = vxlan_frame(ip("192.0.2.6"), ip("192.0.2.2"), 7, inner.build());
        f = vxlan_frame(ip("192.0.2.5"), ip("192.0.2.2"), 4096,
                        Bytes(nested.begin() + 14, nested.end()));
        if (i % 12 == 3) f[14 + 20 + 8 + 8 + 12] = 0x86, f[14 + 20 + 8 + 8 + 13] = 0xdd;
        break;
      }
      case 4:  // IPv6 outer, or a VLAN tag the NIC did not strip
        f[12] = i % 12 == 4 ? 0x86 : 0x81, f[13] = i % 12 == 4 ? 0xdd : 0x00;
        break;
      case 5:  // IPv4 options: IHL 6..15, the rest shifted under them
        f[14] = static_cast<uint8_t>(0x40 | (6 + pick(10)));
        break;
    }
    if (f.size() >= 14 + 20 + 8 && f[12] == 0x08 && f[13] == 0x00) ++vxlan_possible;
    underlay(f);
    overlay(f);
    if (HasFailure())
      FAIL() << "frame " << i << " of kind " << i % 6 << ", " << f.size() << " bytes";
  }
  EXPECT_EQ(stat(VXT_STAT_TC_UNDERLAY_PKTS), static_cast<uint64_t>(kFrames));
  EXPECT_EQ(stat(VXT_STAT_TC_OVERLAY_PKTS), static_cast<uint64_t>(kFrames));
  EXPECT_LE(stat(VXT_STAT_TC_VXLAN_PKTS), vxlan_possible);
}

}  // namespace
INSTANTIATE_TEST_SUITE_P(JoinReads, TcIngressTest, ::testing::Bool(), [](const auto& info) {
  return info.param ? "PercpuLookup" : "ArraySplitByCpu";
});

}  // namespace vxt::test
