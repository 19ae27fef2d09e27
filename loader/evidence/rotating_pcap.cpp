#include "evidence/rotating_pcap.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vxt {
namespace {

constexpr auto kCheckLive = std::chrono::seconds(1);  // is PATH still our file?

bool identity(const std::string& path, uint64_t& dev, uint64_t& ino) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  dev = st.st_dev;
  ino = st.st_ino;
  return true;
}

}  // namespace

Result<std::unique_ptr<RotatingPcap>> RotatingPcap::open(const std::string& path, uint32_t snaplen,
                                                         RotationLimits limits) {
  if (limits.files < 1) limits.files = 1;
  std::unique_ptr<RotatingPcap> r(new RotatingPcap(path, snaplen, limits));
  struct stat st {};
  // A restart keeps the last run's capture: it moves to PATH.1 like any full file.
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) r->shift();
  auto w = PcapngWriter::open(path, snaplen, PcapBuffering::unbuffered);
  if (!w) return w.error();
  r->w_ = std::move(*w);
  r->c_.bytes = r->w_->bytes();
  identity(path, r->dev_, r->ino_);
  return r;
}

void RotatingPcap::shift() {
  if (limits_.files == 1) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
      spdlog::warn("--pcap: cannot remove {}: {}", path_, std::strerror(errno));
    c_.rotated_out += live_packets_;
  } else {
    for (uint32_t i = limits_.files - 1; i >= 1; --i)
      if (std::rename(name(i - 1).c_str(), name(i).c_str()) != 0 && errno != ENOENT)
        spdlog::warn("--pcap: cannot rename {} to {}: {}", name(i - 1), name(i),
                     std::strerror(errno));
    kept_.push_front(live_packets_);
    for (; kept_.size() > limits_.files - 1; kept_.pop_back()) c_.rotated_out += kept_.back();
  }
  live_packets_ = 0;
}

bool RotatingPcap::start_file(Clock::time_point now) {
  auto w = PcapngWriter::open(path_, snaplen_, PcapBuffering::unbuffered);
  if (!w) {
    fail(w.error().err, now);
    return false;
  }
  w_ = std::move(*w);
  c_.bytes += w_->bytes();
  identity(path_, dev_, ino_);
  checked_at_ = now;
  if (last_err_ != 0) spdlog::info("--pcap: writing {} again", path_);
  last_err_ = 0;
  return true;
}

void RotatingPcap::fail(int err, Clock::time_point now) {
  if (last_err_ == 0)
    spdlog::warn("--pcap {}: {} (counted; a fresh file is tried every {} ms)", path_,
                 std::strerror(err ? err : EIO), limits_.retry.count());
  last_err_ = err ? err : EIO;
  w_.reset();
  retry_at_ = now + limits_.retry;
}

bool RotatingPcap::live_file_moved() const {
  uint64_t dev = 0, ino = 0;
  return !identity(path_, dev, ino) || dev != dev_ || ino != ino_;
}

bool RotatingPcap::write(const std::string& interface, int64_t ts_unix_ns,
                         std::span<const uint8_t> packet, uint32_t orig_len,
                         const std::string& comment, Clock::time_point now) {
  ++c_.offered;
  if (!w_) tick(now);
  if (!w_) {
    ++c_.write_errors;
    return false;
  }
  if (live_packets_ > 0 &&
      w_->bytes() + w_->packet_size(interface, packet.size(), comment.size()) > limits_.max_bytes) {
    w_.reset();  // closed before it is renamed
    shift();
    ++c_.rotations;
    if (!start_file(now)) {
      ++c_.write_errors;
      return false;
    }
  }
  auto before = w_->bytes();
  if (!w_->write(interface, ts_unix_ns, packet, orig_len, comment)) {
    fail(w_->error(), now);
    ++c_.write_errors;
    return false;
  }
  c_.bytes += w_->bytes() - before;
  ++c_.written;
  ++live_packets_;
  return true;
}

void RotatingPcap::tick(Clock::time_point now) {
  if (!w_) {
    if (now < retry_at_) return;
    // A file that failed mid-way keeps what it holds: it moves up like a full one.
    if (live_packets_ > 0) shift();
    if (start_file(now)) ++c_.reopens;
    return;
  }
  if (now - checked_at_ < kCheckLive) return;
  checked_at_ = now;
  if (!live_file_moved()) return;
  // Deleted or moved away by someone else: its packets are out of our files.
  c_.rotated_out += live_packets_;
  live_packets_ = 0;
  w_.reset();
  if (start_file(now)) ++c_.reopens;
}

}  // namespace vxt
