// Drains the BPF ring buffer, checks each record against the ABI, hands it on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "result.hpp"
#include "vxtrace/abi.h"

struct ring_buffer;

namespace vxt {

class RingReader {
 public:
  // The drop, and with --pcap the packet's captured bytes (else empty).
  using Handler = std::function<void(const vxt_drop_event&, std::span<const uint8_t> packet)>;
  static Result<std::unique_ptr<RingReader>> open(int map_fd, Handler handler);
  ~RingReader();

  int poll(int timeout_ms);  // events handled, or -errno
  uint64_t malformed() const { return malformed_; }

  // A record's bytes as the kernel gave them: validated here, so tests can feed it.
  static bool valid_record(const void* data, size_t size);

 private:
  explicit RingReader(Handler h) : handler_(std::move(h)) {}
  static int on_record(void* ctx, void* data, size_t size);
  Handler handler_;
  ring_buffer* rb_ = nullptr;
  uint64_t malformed_ = 0;
};

}  // namespace vxt
