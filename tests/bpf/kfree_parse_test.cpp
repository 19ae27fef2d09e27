// The kfree_skb program's packet parsing, without the lab: the same parser reads a packet from
// kernel memory (as it does a dropped skb's head) and from a tc test run's skb, and both must
// agree on every frame: whole, cut at every length, with stale bytes after the cut, and
// randomly damaged. A few frames also check the parse itself.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <random>

#include "packet_builder.hpp"
#include "parse_check.skel.h"
#include "vxtrace/abi.h"

namespace vxt::test {
namespace {

constexpr size_t kCheckBytes = 512;  // parse_check.bpf.c's CHECK_BYTES

// bpf/packet.bpf.h's struct vxt_parsed (BPF-only), as the map value holds it.
struct vxt_parsed {
  vxt_flow outer, inner;
  uint32_t vni;
  uint8_t is_vxlan, pad[3];
};
static_assert(sizeof(vxt_parsed) == 48, "struct vxt_parsed layout (parse_check.bpf.c)");

struct CheckIn {
  uint32_t len, pad;
  uint8_t bytes[kCheckBytes];
};
struct CheckOut {
  vxt_parsed kernel, tc;
  int32_t kernel_ret, tc_ret;
  uint32_t kernel_end, tc_end;
  uint32_t prefetched, pad;
};
static_assert(sizeof(CheckOut) == 120, "struct check_out layout (parse_check.bpf.c)");

bool operator==(const vxt_flow& a, const vxt_flow& b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool operator==(const vxt_parsed& a, const vxt_parsed& b) {
  return a.outer == b.outer && a.inner == b.inner && a.vni == b.vni && a.is_vxlan == b.is_vxlan;
}

struct SkelDeleter {
  void operator()(parse_check_bpf* s) const { parse_check_bpf__destroy(s); }
};

class KfreeParseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF)";
    skel_.reset(parse_check_bpf__open_and_load());
    ASSERT_TRUE(skel_) << "BPF object failed to load";
  }

  // Parses `frame` (from its Ethernet header) both ways; the kernel copy holds the first
  // `kernel_len` bytes after the Ethernet header, then `stale`.
  CheckOut parse(const Bytes& frame, size_t kernel_len, uint8_t stale = 0xAA) {
    CheckIn in{};
    std::memset(in.bytes, stale, sizeof in.bytes);
    in.len = static_cast<uint32_t>(kernel_len);
    std::memcpy(in.bytes, frame.data() + 14, kernel_len);
    uint32_t zero = 0;
    EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.check_in), &zero, &in, BPF_ANY), 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<uint32_t>(frame.size()), .repeat = 1);
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.parse_both_ways), &opts), 0);
    CheckOut out{};
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.check_out), &zero, &out), 0);
    return out;
  }

  // The kernel way sees the first `cut` bytes of the network-layer packet; the tc way the
  // frame cut to the same bytes. They must parse alike.
  void expect_agree(const Bytes& frame, size_t cut, const std::string& what) {
    if (cut < 20) {  // a test run refuses an IPv4 frame shorter than its header: kernel way only
      auto out = parse(frame, cut);
      EXPECT_EQ(out.kernel_ret, 0) << what;
      EXPECT_EQ(out.kernel.outer.valid, 0) << what;
      return;
    }
    Bytes tc_frame(frame.begin(), frame.begin() + static_cast<long>(14 + cut));
    auto out = parse(tc_frame, cut);
    EXPECT_EQ(out.kernel_ret, out.tc_ret) << what;
    EXPECT_TRUE(out.kernel == out.tc) << what;
    EXPECT_EQ(out.kernel_end + 14, out.tc_end) << what;
    if (cut >= 96) {
      EXPECT_EQ(out.prefetched, 1u) << what;
    }
  }

  std::unique_ptr<parse_check_bpf, SkelDeleter> skel_;
};

Ip4Packet tcp_inner() { return {ip("10.244.1.10"), ip("10.244.2.10"), 6, 4242, 33000, 8080}; }

TEST_F(KfreeParseTest, ParsesOuterAndInnerFromKernelMemory) {
  Bytes f = vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, tcp_inner().build());
  auto out = parse(f, f.size() - 14);
  ASSERT_EQ(out.kernel_ret, 1);
  const auto& p = out.kernel;
  EXPECT_EQ(p.is_vxlan, 1);
  EXPECT_EQ(p.vni, 4096u);
  EXPECT_EQ(p.outer.saddr, ip("192.0.2.1"));
  EXPECT_EQ(p.outer.daddr, ip("192.0.2.2"));
  EXPECT_EQ(p.outer.dport, htons(4789));
  EXPECT_EQ(p.inner.valid, 1);
  EXPECT_EQ(p.inner.saddr, ip("10.244.1.10"));
  EXPECT_EQ(p.inner.proto, 6);
  EXPECT_EQ(p.inner.sport, htons(33000));
  EXPECT_EQ(p.inner.dport, htons(8080));
  EXPECT_EQ(p.inner.tcp_flags, 0x02);
  EXPECT_EQ(p.inner.ip_id, htons(4242));
  EXPECT_EQ(out.prefetched, 1u);
  EXPECT_TRUE(out.kernel == out.tc);
}

// A short copy: nothing past it is read, whatever stale bytes follow it in the buffer.
TEST_F(KfreeParseTest, NothingPastTheCopyIsRead) {
  Bytes f = vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, tcp_inner().build());
  size_t before_inner_ports = 20 + 8 + 8 + 14 + 20;  // outer IP, UDP, VXLAN, inner Ethernet, IP
  for (uint8_t stale : {0x00, 0x45, 0xAA, 0xFF}) {
    auto out = parse(f, before_inner_ports, stale);
    EXPECT_EQ(out.kernel.inner.sport, 0) << int(stale);
    EXPECT_EQ(out.kernel.inner.dport, 0) << int(stale);
    EXPECT_EQ(out.kernel.outer.saddr, ip("192.0.2.1"));
  }
}

TEST_F(KfreeParseTest, BothWaysAgreeAtEveryCut) {
  for (uint8_t proto : {6, 17, 1}) {
    Ip4Packet inner = tcp_inner();
    inner.proto = proto;
    for (size_t payload : {0u, 40u, 300u}) {
      inner.payload = payload;
      Bytes f = vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 77, inner.build());
      for (size_t cut = 0; cut <= f.size() - 14; ++cut)
        expect_agree(f, cut,
                     "proto " + std::to_string(proto) + " payload " + std::to_string(payload) +
                         " cut " + std::to_string(cut));
    }
  }
}

// Random damage to the headers (lengths, IHL, flags, ports, VNI flags): both ways still agree
// and neither reads past what it was given.
TEST_F(KfreeParseTest, BothWaysAgreeOnDamagedFrames) {
  std::mt19937 rng(7);
  Bytes good = vxlan_frame(ip("192.0.2.1"), ip("192.0.2.2"), 4096, tcp_inner().build());
  const size_t headers = 14 + 20 + 8 + 8 + 14 + 20 + 20;
  for (int i = 0; i < 3000; ++i) {
    Bytes f = good;
    int hits = 1 + static_cast<int>(rng() % 4);
    for (int h = 0; h < hits; ++h) f[14 + rng() % (headers - 14)] = static_cast<uint8_t>(rng());
    size_t cut = rng() % 2 ? f.size() - 14 : rng() % (f.size() - 14);
    expect_agree(f, cut, "damaged frame " + std::to_string(i));
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace vxt::test
