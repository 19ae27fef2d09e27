// The trace session's stdout: a streambuf writing to a file descriptor that remembers why a
// write failed (ENOSPC on a full disk, EPIPE once the reader of a pipe is gone, EIO on a hung-up
// terminal), so the session can stop, detach and say so. std::cout reports only that something
// failed, and errno is long gone by then.
#pragma once

#include <functional>
#include <streambuf>
#include <vector>

namespace vxt {

class FdOutput : public std::streambuf {
 public:
  // `give_up` is asked when a write blocked on a full pipe was interrupted by a signal: true
  // drops what is unwritten and everything after, e.g. a stop asked for while the reader stalls.
  FdOutput(int fd, std::function<bool()> give_up);
  ~FdOutput() override;  // writes out what is buffered, unless writing already failed
  FdOutput(const FdOutput&) = delete;
  FdOutput& operator=(const FdOutput&) = delete;

  int error() const { return error_; }  // errno of the first failed write; 0: none
  // Whether the output can no longer be written: a failed write, or a pipe whose reader is
  // gone (seen without writing, so a quiet `vxtrace | head -1` stops too). Sets error().
  bool broken();

 protected:
  int_type overflow(int_type ch) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  bool write_all(const char* p, size_t n);
  bool flush_buffer();

  int fd_;
  std::function<bool()> give_up_;
  std::vector<char> buf_;
  int error_ = 0;
  bool abandoned_ = false;
};

}  // namespace vxt
