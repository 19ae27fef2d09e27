#include "sys/fd_output.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vxt {

// A burst of drop lines fits; JsonSink flushes once per ring-buffer poll anyway.
constexpr size_t kBufferBytes = size_t{64} * 1024;

FdOutput::FdOutput(int fd, std::function<bool()> give_up)
    : fd_(fd), give_up_(std::move(give_up)), buf_(kBufferBytes) {
  setp(buf_.data(), buf_.data() + buf_.size());
}

FdOutput::~FdOutput() { flush_buffer(); }

bool FdOutput::write_all(const char* p, size_t n) {
  if (error_ || abandoned_) return false;
  while (n > 0) {
    ssize_t w = write(fd_, p, n);
    if (w >= 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (errno == EINTR && !give_up_()) continue;
    if (errno == EINTR)
      abandoned_ = true;  // not an error: the stop asked for wins over a stalled reader
    else
      error_ = errno;
    return false;
  }
  return true;
}

bool FdOutput::flush_buffer() {
  bool ok = write_all(pbase(), static_cast<size_t>(pptr() - pbase()));
  setp(buf_.data(), buf_.data() + buf_.size());  // written or dropped: never twice
  return ok;
}

FdOutput::int_type FdOutput::overflow(int_type ch) {
  if (!flush_buffer()) return traits_type::eof();
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  *pptr() = traits_type::to_char_type(ch);
  pbump(1);
  return ch;
}

std::streamsize FdOutput::xsputn(const char* s, std::streamsize n) {
  auto len = static_cast<size_t>(n);
  if (len <= static_cast<size_t>(epptr() - pptr())) {
    std::memcpy(pptr(), s, len);
    pbump(static_cast<int>(len));
    return n;
  }
  if (!flush_buffer()) return 0;
  if (len >= buf_.size()) return write_all(s, len) ? n : 0;  // large: straight through
  std::memcpy(pptr(), s, len);
  pbump(static_cast<int>(len));
  return n;
}

int FdOutput::sync() { return flush_buffer() ? 0 : -1; }

bool FdOutput::broken() {
  if (error_) return true;
  // A pipe's write end polls POLLERR once no reader is left (a socket's, once it failed).
  pollfd p{fd_, 0, 0};
  if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) error_ = EPIPE;
  return error_ != 0;
}

}  // namespace vxt
