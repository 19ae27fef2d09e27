// One client of the agent's HTTP endpoint, from accept to close, on a non-blocking socket: read a
// request head (bounded in bytes, and in time from accept however slowly it comes), write the
// answer, then read and discard until the client closes, so that closing never resets a response
// the client has yet to read.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "modes/agent/http_message.hpp"

namespace vxt::agent {

using HttpClock = std::chrono::steady_clock;

struct HttpLimits {
  std::chrono::milliseconds request_time{2000};   // accept to the end of the head
  std::chrono::milliseconds response_time{2000};  // the end of the head to the client's close
  size_t max_head = 8192;                         // bytes, else 431
  size_t max_connections = 64;                    // then a new one closes the oldest unfinished
};

// A file descriptor closed once, by its owner.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd();
  int get() const { return fd_; }

 private:
  int fd_;
};

class HttpConnection {
 public:
  // In the order the server gives them up when it must make room (see HttpServer).
  enum class Phase { closed, draining, reading, writing };

  HttpConnection(Fd fd, HttpClock::time_point now, const HttpLimits& limits);
  // Reads or writes as far as the socket allows without blocking.
  void on_ready(HttpClock::time_point now, const std::vector<Route>& routes);
  // Ends it with a reset: a response the client will not take is dropped, not left to the kernel.
  void abort();
  short poll_events() const;
  int fd() const { return fd_.get(); }
  Phase phase() const { return phase_; }
  HttpClock::time_point deadline() const { return deadline_; }

 private:
  void read_head(HttpClock::time_point now, const std::vector<Route>& routes);
  void write_response();
  void drain();

  Fd fd_;
  const HttpLimits& limits_;
  Phase phase_ = Phase::reading;
  HttpClock::time_point deadline_;
  std::string in_;
  std::string out_;
  size_t sent_ = 0;
};

}  // namespace vxt::agent
