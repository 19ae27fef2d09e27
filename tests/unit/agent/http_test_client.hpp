// A raw-socket HTTP client for the server's tests: every byte and every timeout is the test's own,
// so a test can behave like an attacker (stall, drip, flood) and time what a probe sees.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace vxt::agent::testing {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Blocking connect to 127.0.0.1:port; an invalid Socket on failure.
inline Socket connect_loopback(int port) {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!s || ::connect(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return Socket();
  return s;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Everything the peer sends until it closes, or until the timeout (timed_out set).
struct Received {
  std::string bytes;
  bool closed = false;  // orderly close or reset, not a timeout
  int status() const {
    if (bytes.rfind("HTTP/1.", 0) != 0 || bytes.size() < 12) return 0;
    return std::stoi(bytes.substr(9, 3));
  }
  std::string body() const {
    auto at = bytes.find("\r\n\r\n");
    return at == std::string::npos ? "" : bytes.substr(at + 4);
  }
};

inline Received read_until_close(int fd, std::chrono::milliseconds timeout) {
  Received r;
  auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return r;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      r.closed = true;
      return r;
    }
    r.bytes.append(buf, static_cast<size_t>(n));
  }
}

struct Reply {
  Received received;
  double seconds = 0;  // from connect to the server's close
  int status() const { return received.status(); }
};

// One request as a probe makes it: connect, send, read until the server closes.
inline Reply request(int port, std::string_view raw,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto t0 = Clock::now();
  Reply r;
  Socket s = connect_loopback(port);
  if (s && send_all(s.fd(), raw)) r.received = read_until_close(s.fd(), timeout);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

inline Reply get(int port, const std::string& path) {
  return request(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

}  // namespace vxt::agent::testing
