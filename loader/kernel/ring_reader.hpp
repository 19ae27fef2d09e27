// Drains the BPF ring buffer, checks each record against the ABI, hands it on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "sys/result.hpp"
#include "vxtrace/abi.h"

struct ring_buffer;

namespace vxt {

// What a drop record carries besides the event, when asked for (else empty): the packet's
// captured bytes (--pcap, --filter) and the kernel stack (--stack). Valid during the call.
struct DropEvidence {
  std::span<const uint8_t> packet;
  std::span<const uint64_t> stack;
};

class RingReader {
 public:
  using Handler = std::function<void(const vxt_drop_event&, const DropEvidence&)>;
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
