#include "kernel/ring_reader.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace vxt {

Result<std::unique_ptr<RingReader>> RingReader::open(int map_fd, Handler handler) {
  std::unique_ptr<RingReader> r(new RingReader(std::move(handler)));
  r->rb_ = ring_buffer__new(map_fd, &RingReader::on_record, r.get(), nullptr);
  if (!r->rb_) return errno_error("cannot open the ring buffer", errno);
  return r;
}

RingReader::~RingReader() { ring_buffer__free(rb_); }

// The kernel wakes the reader only once a quarter of the ring waits (BPF wakeup_bytes); what
// came in below that is read after every poll, on the reader's own clock: epoll cannot see it.
int RingReader::poll(int timeout_ms) {
  int n = ring_buffer__poll(rb_, timeout_ms);
  if (n >= 0) {
    int more = ring_buffer__consume(rb_);
    n = more < 0 ? more : n + more;
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
