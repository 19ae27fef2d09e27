// The tc programs run with BPF_PROG_TEST_RUN on crafted frames: what they count and
// remember, and that they leave every packet exactly as it was.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <numeric>

#include "packet_builder.hpp"
#include "vxtrace.skel.h"
#include "vxtrace/abi.h"

namespace vxt::test {
namespace {

constexpr int kTcActUnspec = -1;

struct SkelDeleter {
  void operator()(vxtrace_bpf* s) const { vxtrace_bpf__destroy(s); }
};

class TcIngressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF)";
    skel_.reset(vxtrace_bpf__open_and_load());
    ASSERT_TRUE(skel_) << "BPF object failed to load";
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
    uint32_t key = ip(addr);
    std::vector<vxt_peer_rx> v(libbpf_num_possible_cpus());
    vxt_peer_rx sum{};
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.peer_rx), &key, v.data())) return sum;
    for (const auto& x : v) {
      sum.packets += x.packets;
      sum.bytes += x.bytes;
      sum.decapsulated += x.decapsulated;
    }
    return sum;
  }
  uint64_t stat(uint32_t which) {
    std::vector<uint64_t> v(libbpf_num_possible_cpus());
    bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &which, v.data());
    return std::accumulate(v.begin(), v.end(), uint64_t{0});
  }
  bool tunnel_for(const Ip4Packet& inner, vxt_tunnel* t) {
    vxt_flow_key k{inner.src,   inner.dst, htons(inner.sport), htons(inner.dport), htons(inner.id),
                   inner.proto, 0};
    return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.tunnel_by_flow), &k, t) == 0;
  }

  std::unique_ptr<vxtrace_bpf, SkelDeleter> skel_;
};

TEST_F(TcIngressTest, CountsVxlanPerPeerAndRemembersTheTunnel) {
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

TEST_F(TcIngressTest, IgnoresTrafficThatIsNotVxlanToOurPort) {
  Ip4Packet inner{ip("10.244.1.10"), ip("10.244.2.10")};
  underlay(vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, inner.build(), 8472));
  underlay(ethernet(Ip4Packet{ip("192.0.2.1"), ip("192.0.2.2"), 17, 9, 5000, 53}.build()));
  underlay(ethernet(Bytes(28, 0), 0x0806));  // ARP
  EXPECT_EQ(peer("192.0.2.1").packets, 0u);
  EXPECT_EQ(stat(VXT_STAT_TC_UNDERLAY_PKTS), 3u);
  EXPECT_EQ(stat(VXT_STAT_TC_VXLAN_PKTS), 0u);
}

TEST_F(TcIngressTest, MalformedVxlanIsCountedNotTrusted) {
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

TEST_F(TcIngressTest, OverlayCountsWhatSurvivedDecapsulation) {
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

}  // namespace
}  // namespace vxt::test
