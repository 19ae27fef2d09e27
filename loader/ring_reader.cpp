#include "ring_reader.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

namespace vxt {

Result<std::unique_ptr<RingReader>> RingReader::open(int map_fd, Handler handler) {
  std::unique_ptr<RingReader> r(new RingReader(std::move(handler)));
  r->rb_ = ring_buffer__new(map_fd, &RingReader::on_record, r.get(), nullptr);
  if (!r->rb_) return errno_error("cannot open the ring buffer", errno);
  return r;
}

RingReader::~RingReader() { ring_buffer__free(rb_); }

namespace {
// After a poll that handled events, let the next ones gather for this long before waiting
// again. The kernel wakes the reader for a record only when the reader had caught up, and
// that wakeup (irq_work: a self-IPI, a VM exit under virtualization) costs the dropping CPU
// microseconds. A reader faster than the drops catches up after every event and is woken
// once per drop; napping makes it one wakeup per window. Events wait at most this long;
// a lone drop after a quiet spell is still handed on at once.
constexpr long kGatherNs = 1'000'000;
}  // namespace

int RingReader::poll(int timeout_ms) {
  int n;
  {
    n = ring_buffer__poll(rb_, timeout_ms);
    // The kernel wakes the reader only once a quarter of the ring waits (wakeup_bytes): what
    // came in below that is read here, on the reader's own clock. epoll cannot see it.
    if (n >= 0) {
      int more = ring_buffer__consume(rb_);
      n = more < 0 ? more : n + more;
    }
  }
  if (n > 0 && timeout_ms != 0) {
    timespec gather{0, kGatherNs};
    nanosleep(&gather, nullptr);
  }
  return n == -EINTR ? 0 : n;
}

bool RingReader::valid_record(const void* data, size_t size) {
  vxt_event_header hdr;
  if (size < sizeof(hdr)) return false;
  std::memcpy(&hdr, data, sizeof(hdr));
  if (hdr.type == VXT_EVENT_DROP)
    return hdr.size == sizeof(vxt_drop_event) && size >= sizeof(vxt_drop_event);
  if (hdr.type != VXT_EVENT_DROP_CAPTURE || hdr.size != sizeof(vxt_drop_capture) ||
      size < sizeof(vxt_drop_capture))
    return false;
  uint16_t cap_len, depth;
  const auto* c = static_cast<const char*>(data);
  std::memcpy(&cap_len, c + offsetof(vxt_drop_capture, cap_len), sizeof(cap_len));
  std::memcpy(&depth, c + offsetof(vxt_drop_capture, stack_depth), sizeof(depth));
  return cap_len <= VXT_CAPTURE_MAX && depth <= VXT_STACK_MAX;
}

int RingReader::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingReader*>(ctx);
  if (!valid_record(data, size)) {
    ++self->malformed_;
    return 0;
  }
  vxt_drop_event e;
  std::memcpy(&e, data, sizeof(e));  // ring memory is only 8-byte aligned
  DropEvidence ev;
  if (e.hdr.type == VXT_EVENT_DROP_CAPTURE) {
    const auto* c = static_cast<const uint8_t*>(data);
    uint16_t cap_len, depth;
    std::memcpy(&cap_len, c + offsetof(vxt_drop_capture, cap_len), sizeof(cap_len));
    std::memcpy(&depth, c + offsetof(vxt_drop_capture, stack_depth), sizeof(depth));
    ev.packet = {c + offsetof(vxt_drop_capture, data), cap_len};
    // Ring records are 8-byte aligned, and so is the stack within one.
    ev.stack = {reinterpret_cast<const uint64_t*>(c + offsetof(vxt_drop_capture, stack)), depth};
  }
  self->handler_(e, ev);
  return 0;
}

}  // namespace vxt
