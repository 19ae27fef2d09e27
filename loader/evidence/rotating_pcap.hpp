// The agent's --pcap: pcapng files that cannot fill a disk. The live file is always PATH; when
// the next packet would take it past the size limit, it is closed and the older files move up
// logrotate style (PATH -> PATH.1 -> ... -> PATH.(files-1), the oldest deleted), and a fresh
// PATH starts with its own section header and interface blocks, so every file reads alone.
// Disk use stays within files x max_bytes.
//
// Write errors (a full disk, a vanished directory) are counted, never fatal: the file is
// dropped and a fresh one tried at most once per retry interval; packets meanwhile count as
// errors. Every packet handed in is accounted for once: offered = written + write_errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>

#include "evidence/pcapng_writer.hpp"

namespace vxt {

struct RotationLimits {
  uint64_t max_bytes = 64ull << 20;  // one file, section header included
  uint32_t files = 4;                // kept, the live one included (>= 1)
  std::chrono::milliseconds retry{1000};
};

struct RotatingPcapCounters {
  uint64_t offered = 0;       // packets handed to write()
  uint64_t written = 0;       // of those, in a file (one write(2) each, nothing buffered)
  uint64_t bytes = 0;         // bytes written over every file, headers included
  uint64_t rotations = 0;     // files closed for size and moved to PATH.1
  uint64_t rotated_out = 0;   // packets of this run's files deleted off the end
  uint64_t write_errors = 0;  // packets not written: a failed write, or no file open then
  uint64_t reopens = 0;       // fresh files opened after an error or a vanished live file
};

class RotatingPcap {
 public:
  using Clock = std::chrono::steady_clock;

  // Opens PATH (a previous run's non-empty PATH is rotated first, never truncated). Fails
  // when PATH cannot be created: a start-up error.
  static Result<std::unique_ptr<RotatingPcap>> open(const std::string& path, uint32_t snaplen,
                                                    RotationLimits limits);

  // False when the packet was not written (counted in write_errors).
  bool write(const std::string& interface, int64_t ts_unix_ns, std::span<const uint8_t> packet,
             uint32_t orig_len, const std::string& comment, Clock::time_point now);
  // Call often (the agent: every loop): retries a failed file once its interval has passed,
  // and starts a fresh PATH if the live file was deleted or moved away under us.
  void tick(Clock::time_point now);

  const RotatingPcapCounters& counters() const { return c_; }
  const std::string& path() const { return path_; }
  bool open_now() const { return w_ != nullptr; }
  int last_error() const { return last_err_; }

 private:
  RotatingPcap(std::string path, uint32_t snaplen, RotationLimits limits)
      : path_(std::move(path)), snaplen_(snaplen), limits_(limits) {}
  std::string name(uint32_t i) const { return i == 0 ? path_ : path_ + "." + std::to_string(i); }
  void shift();  // PATH.(files-2) -> PATH.(files-1) ... PATH -> PATH.1
  bool start_file(Clock::time_point now);
  void fail(int err, Clock::time_point now);
  bool live_file_moved() const;

  std::string path_;
  uint32_t snaplen_;
  RotationLimits limits_;
  std::unique_ptr<PcapngWriter> w_;
  uint64_t live_packets_ = 0;   // packets in PATH now (this run's)
  std::deque<uint64_t> kept_;   // packets in PATH.1, PATH.2, ... (this run's)
  uint64_t dev_ = 0, ino_ = 0;  // the live file's identity
  Clock::time_point retry_at_{}, checked_at_{};
  int last_err_ = 0;
  RotatingPcapCounters c_;
};

}  // namespace vxt
