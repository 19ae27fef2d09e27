#include "modes/agent/http_connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace vxt::agent {
namespace {

// A recv/send that failed for a reason other than "not now" ends the connection.
bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

HttpConnection::HttpConnection(Fd fd, HttpClock::time_point now, const HttpLimits& limits)
    : fd_(std::move(fd)), limits_(limits), deadline_(now + limits.request_time) {}

void HttpConnection::abort() {
  linger no_linger{1, 0};
  setsockopt(fd(), SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
  phase_ = Phase::closed;
}

short HttpConnection::poll_events() const { return phase_ == Phase::writing ? POLLOUT : POLLIN; }

void HttpConnection::on_ready(HttpClock::time_point now, const std::vector<Route>& routes) {
  switch (phase_) {
    case Phase::reading: read_head(now, routes); break;
    case Phase::writing: write_response(); break;
    case Phase::draining: drain(); break;
    case Phase::closed: break;
  }
}

void HttpConnection::read_head(HttpClock::time_point now, const std::vector<Route>& routes) {
  // Never more than max_head bytes: what follows a head that long is not read, only refused.
  const size_t old = in_.size();
  in_.resize(limits_.max_head);
  ssize_t n = ::recv(fd(), in_.data() + old, in_.size() - old, 0);
  in_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
  if (n == 0 || (n < 0 && !would_block())) phase_ = Phase::closed;
  if (n <= 0) return;
  auto head = parse_request_head(in_, limits_.max_head);
  if (head.state == RequestHead::State::incomplete) return;
  bool head_only = head.state == RequestHead::State::complete && head.method == "HEAD";
  out_ = render(answer(head, in_.size() > head.size, routes), head_only);
  in_ = std::string();
  phase_ = Phase::writing;
  deadline_ = now + limits_.response_time;
  write_response();  // usually fits the socket buffer at once: no poll round needed
}

void HttpConnection::write_response() {
  ssize_t n = ::send(fd(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
  if (n < 0) {
    if (!would_block()) phase_ = Phase::closed;
    return;
  }
  sent_ += static_cast<size_t>(n);
  if (sent_ < out_.size()) return;
  out_ = std::string();
  ::shutdown(fd(), SHUT_WR);  // the FIN tells a Connection: close client the response is whole
  phase_ = Phase::draining;
}

void HttpConnection::drain() {
  std::array<char, 16384> buf;
  for (int i = 0; i < 16; ++i) {  // bounded, so one fast sender cannot hold the loop
    ssize_t n = ::recv(fd(), buf.data(), buf.size(), 0);
    if (n > 0) continue;
    if (n == 0 || !would_block()) phase_ = Phase::closed;
    return;
  }
}

}  // namespace vxt::agent
