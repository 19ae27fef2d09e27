// --pcap in the agent: files rotate before they pass their size, the newest packets are kept,
// every file is a whole pcapng on its own, and write errors are counted and retried, never fatal.
#include "evidence/rotating_pcap.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace vxt {
namespace {

namespace fs = std::filesystem;
using Clock = RotatingPcap::Clock;

constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterface = 1, kEnhancedPacket = 6;

// What a reader needs to trust a file: blocks that chain to its end, a section header first,
// every packet on an interface described earlier in the same file.
struct PcapngFile {
  bool whole = false;
  size_t size = 0;
  std::vector<std::string> interfaces;
  std::vector<uint64_t> timestamps;  // of the packets, in order
};

uint32_t u32_at(const std::string& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

PcapngFile read_pcapng(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  PcapngFile f;
  f.size = b.size();
  if (b.size() < 12 || u32_at(b, 0) != kSectionHeader) return f;
  size_t off = 0;
  while (off + 12 <= b.size()) {
    uint32_t type = u32_at(b, off), len = u32_at(b, off + 4);
    if (len < 12 || len % 4 || off + len > b.size() || u32_at(b, off + len - 4) != len) return f;
    if (type == kInterface) {
      uint16_t name_len;
      std::memcpy(&name_len, b.data() + off + 20 + 2, 2);
      f.interfaces.push_back(b.substr(off + 24, name_len));
    } else if (type == kEnhancedPacket) {
      if (u32_at(b, off + 8) >= f.interfaces.size()) return f;
      f.timestamps.push_back(uint64_t{u32_at(b, off + 12)} << 32 | u32_at(b, off + 16));
    }
    off += len;
  }
  f.whole = off == b.size();
  return f;
}

class RotatingPcapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("vxt_rotating_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "drops.pcapng").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Packet i: 100 bytes, its timestamp i, on one of two interfaces.
  bool put(RotatingPcap& p, uint64_t i, Clock::time_point now = Clock::time_point{}) {
    std::vector<uint8_t> pkt(100, static_cast<uint8_t>(i));
    return p.write(i % 2 ? "eth0@netns:1" : "vxlan.calico@netns:1", static_cast<int64_t>(i), pkt,
                   100, "vxtrace cause=checksum n=" + std::to_string(i), now);
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(RotatingPcapTest, PacketSizeIsWhatTheWriterWrites) {
  auto w = PcapngWriter::open(path_, 64, PcapBuffering::unbuffered);
  ASSERT_TRUE(w);
  for (size_t len : {0, 1, 2, 3, 4, 5, 63, 64, 65, 1500})
    for (size_t comment : {0, 1, 3, 4, 70000})
      for (const char* dev : {"eth0@netns:1", "a@netns:123456", "eth0@netns:1"}) {
        std::vector<uint8_t> pkt(len, 0x45);
        auto expect = (*w)->packet_size(dev, len, comment);
        auto before = (*w)->bytes();
        ASSERT_TRUE(
            (*w)->write(dev, 1, pkt, static_cast<uint32_t>(len), std::string(comment, 'c')));
        EXPECT_EQ((*w)->bytes() - before, expect) << len << " " << comment << " " << dev;
      }
  EXPECT_EQ(fs::file_size(path_), (*w)->bytes());
  auto f = read_pcapng(path_);
  EXPECT_TRUE(f.whole);
  EXPECT_EQ(f.interfaces.size(), 2u);
  EXPECT_EQ(f.timestamps.size(), (*w)->written());
}

TEST_F(RotatingPcapTest, RotatesBeforeTheLimitAndKeepsTheNewestFiles) {
  const RotationLimits limits{2048, 3};
  auto p = RotatingPcap::open(path_, 1536, limits);
  ASSERT_TRUE(p);
  const uint64_t n = 100;
  for (uint64_t i = 0; i < n; ++i) ASSERT_TRUE(put(**p, i));
  const auto& c = (*p)->counters();
  EXPECT_EQ(files(),
            (std::vector<std::string>{"drops.pcapng", "drops.pcapng.1", "drops.pcapng.2"}));
  EXPECT_EQ(c.offered, n);
  EXPECT_EQ(c.written, n);
  EXPECT_EQ(c.write_errors, 0u);
  EXPECT_GT(c.rotations, 5u);

  // Oldest first: .2, .1, then the live file; their packets are the newest, in order.
  std::vector<uint64_t> kept;
  uint64_t on_disk = 0;
  for (const char* name : {"drops.pcapng.2", "drops.pcapng.1", "drops.pcapng"}) {
    auto f = read_pcapng(dir_ / name);
    EXPECT_TRUE(f.whole) << name;
    EXPECT_LE(f.size, limits.max_bytes) << name;
    // Its own interface blocks, only those its packets use (the reader checks every id).
    EXPECT_EQ(f.interfaces.size(), std::min<size_t>(2, f.timestamps.size())) << name;
    kept.insert(kept.end(), f.timestamps.begin(), f.timestamps.end());
    on_disk += f.size;
  }
  ASSERT_EQ(kept.size(), c.written - c.rotated_out);
  for (size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i], n - kept.size() + i);
  EXPECT_LE(on_disk, limits.files * limits.max_bytes);

  // Full files were closed only when the next packet would not fit: one more would pass the limit.
  // Packet blocks here: 12 + 20 fields + 100 data + 4 end + 32 comment ("...n=NN", 27 chars).
  auto full = read_pcapng(dir_ / "drops.pcapng.1");
  EXPECT_GT(full.size + 168, limits.max_bytes);
}

TEST_F(RotatingPcapTest, OneFileKept) {
  auto p = RotatingPcap::open(path_, 1536, {1024, 1});
  ASSERT_TRUE(p);
  for (uint64_t i = 0; i < 40; ++i) ASSERT_TRUE(put(**p, i));
  EXPECT_EQ(files(), std::vector<std::string>{"drops.pcapng"});
  auto f = read_pcapng(path_);
  EXPECT_TRUE(f.whole);
  EXPECT_LE(f.size, 1024u);
  const auto& c = (*p)->counters();
  EXPECT_GT(c.rotations, 0u);
  ASSERT_EQ(f.timestamps.size(), c.written - c.rotated_out);
  EXPECT_EQ(f.timestamps.back(), 39u);
  EXPECT_EQ(f.timestamps.front(), 40 - f.timestamps.size());
}

TEST_F(RotatingPcapTest, ARestartKeepsThePreviousCapture) {
  {
    auto p = RotatingPcap::open(path_, 1536, {4096, 3});
    ASSERT_TRUE(p);
    ASSERT_TRUE(put(**p, 7));
  }
  auto p = RotatingPcap::open(path_, 1536, {4096, 3});
  ASSERT_TRUE(p);
  EXPECT_EQ(read_pcapng(dir_ / "drops.pcapng.1").timestamps, std::vector<uint64_t>{7});
  EXPECT_TRUE(read_pcapng(path_).whole);
  EXPECT_TRUE(read_pcapng(path_).timestamps.empty());
}

TEST_F(RotatingPcapTest, AnUnwritablePathFailsAtOpen) {
  auto p = RotatingPcap::open((dir_ / "missing" / "x.pcapng").string(), 1536, {});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().err, ENOENT);
  EXPECT_NE(p.error().what().find("--pcap "), std::string::npos);
  auto full = RotatingPcap::open("/dev/full", 1536, {});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().err, ENOSPC);
}

TEST_F(RotatingPcapTest, AVanishedDirectoryIsCountedAndRetriedOnceASecond) {
  auto p = RotatingPcap::open(path_, 1536, {1 << 20, 2});
  ASSERT_TRUE(p);
  auto& r = **p;
  Clock::time_point t{};
  ASSERT_TRUE(put(r, 0, t));
  fs::remove_all(dir_);
  t += std::chrono::milliseconds(1100);
  r.tick(t);  // the live file is gone and its directory with it
  EXPECT_FALSE(r.open_now());
  EXPECT_EQ(r.last_error(), ENOENT);
  EXPECT_FALSE(put(r, 1, t));
  fs::create_directories(dir_);
  r.tick(t + std::chrono::milliseconds(900));  // not yet: once a second
  EXPECT_FALSE(r.open_now());
  EXPECT_FALSE(put(r, 2, t + std::chrono::milliseconds(900)));
  ASSERT_TRUE(put(r, 3, t + std::chrono::milliseconds(1000)));  // a write retries when due
  EXPECT_TRUE(r.open_now());
  const auto& c = r.counters();
  EXPECT_EQ(c.offered, 4u);
  EXPECT_EQ(c.written, 2u);
  EXPECT_EQ(c.write_errors, 2u);
  EXPECT_EQ(c.reopens, 1u);
  EXPECT_EQ(c.rotated_out, 1u) << "packet 0 went with its directory";
  EXPECT_EQ(read_pcapng(path_).timestamps, std::vector<uint64_t>{3});
}

// A write that fails half way (here EFBIG under RLIMIT_FSIZE, as ENOSPC would): the packet is an
// error, the file keeps what it had and moves up at the retry, the next file is whole.
TEST_F(RotatingPcapTest, AFailedWriteIsCountedAndTheNextFileIsWhole) {
  auto p = RotatingPcap::open(path_, 1536, {1 << 20, 3});
  ASSERT_TRUE(p);
  auto& r = **p;
  Clock::time_point t{};
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 1000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  uint64_t i = 0;
  while (i < 50 && put(r, i, t)) ++i;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_LT(i, 50u);
  EXPECT_EQ(r.last_error(), EFBIG);
  EXPECT_FALSE(r.open_now());
  EXPECT_FALSE(put(r, 100, t + std::chrono::milliseconds(10)));
  r.tick(t + std::chrono::seconds(1));
  EXPECT_TRUE(r.open_now());
  EXPECT_TRUE(put(r, 101, t + std::chrono::seconds(1)));
  const auto& c = r.counters();
  EXPECT_EQ(c.written, i + 1);
  EXPECT_EQ(c.write_errors, 2u);
  EXPECT_EQ(c.offered, c.written + c.write_errors);
  EXPECT_EQ(read_pcapng(dir_ / "drops.pcapng.1").timestamps.size(), i)
      << "the broken file kept its whole packets";
  auto live = read_pcapng(path_);
  EXPECT_TRUE(live.whole);
  EXPECT_EQ(live.timestamps, std::vector<uint64_t>{101});
}

}  // namespace
}  // namespace vxt
