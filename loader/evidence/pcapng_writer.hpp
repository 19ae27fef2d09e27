// A pcapng file of dropped packets, written by hand: libpcap's dump API writes classic pcap,
// which has no per-packet comments and one link type per file. Blocks: one section header,
// an interface description per (network namespace, device) seen, an enhanced packet block per
// drop with its comment. Link type RAW (IPv4 from the first byte), nanosecond timestamps.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "sys/result.hpp"

namespace vxt {

// unbuffered: each packet's blocks reach the file in one write(2), so a failed write is known
// at once and leaves nothing behind in a buffer (the agent's exact counts rest on this).
enum class PcapBuffering { buffered, unbuffered };

class PcapngWriter {
 public:
  // `path` "-": standard output. Fails when the file cannot be created.
  static Result<std::unique_ptr<PcapngWriter>> open(
      const std::string& path, uint32_t snaplen, PcapBuffering buffering = PcapBuffering::buffered);
  ~PcapngWriter();
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;

  // `interface` names the capture point (e.g. "eth0@4026531840"); the packet is cut to the
  // snap length, `orig_len` kept. False once a write failed (disk full): the caller says so.
  bool write(const std::string& interface, int64_t ts_unix_ns, std::span<const uint8_t> packet,
             uint32_t orig_len, const std::string& comment);
  bool flush();
  // Bytes the next write() would add: its packet block, and the interface's block when the
  // interface is new to this file.
  uint64_t packet_size(const std::string& interface, size_t packet_len, size_t comment_len) const;
  uint64_t bytes() const { return bytes_; }  // handed to the file so far, section header included
  uint64_t written() const { return written_; }
  int error() const { return err_; }  // errno of the first failed write

 private:
  PcapngWriter(FILE* f, bool owned, uint32_t snaplen) : f_(f), owned_(owned), snaplen_(snaplen) {}
  uint32_t interface_id(const std::string& name, std::string& blocks);
  bool put(const std::string& block);

  FILE* f_;
  bool owned_;
  uint32_t snaplen_;
  std::map<std::string, uint32_t> interfaces_;
  uint64_t written_ = 0, bytes_ = 0;
  bool ok_ = true;
  int err_ = 0;
};

}  // namespace vxt
