#include "modes/agent/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <list>

namespace vxt::agent {
namespace {

using namespace std::chrono_literals;

// A non-blocking listening socket on an address parse_listen_address accepted; its port.
Result<std::pair<Fd, int>> listen_on(const std::string& host, int port, const std::string& what) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v6);
  } else {
    return Error{"cannot listen on " + what + ": not an IP address"};
  }
  Fd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return errno_error("cannot listen on " + what, errno);
  // SO_REUSEADDR only: with SO_REUSEPORT a second agent on the node would silently share the
  // port and answer every other scrape.
  int yes = 1;
  setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(s.get(), SOMAXCONN) != 0 ||
      ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return errno_error("cannot listen on " + what, errno);
  return std::pair{std::move(s),
                   static_cast<int>(ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port))};
}

}  // namespace

// The poll loop: connections in accept order, each with its deadline; an eventfd to stop it.
class HttpServer::Loop {
 public:
  Loop(Fd listener, Fd wake, std::vector<Route> routes, HttpLimits limits)
      : listener_(std::move(listener)),
        wake_(std::move(wake)),
        routes_(std::move(routes)),
        limits_(limits) {}
  void run();
  void stop() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  }

 private:
  void close_finished(HttpClock::time_point now);
  int timeout_ms(HttpClock::time_point now) const;
  void accept_some(HttpClock::time_point now);
  void evict();

  Fd listener_;
  Fd wake_;
  std::vector<Route> routes_;
  HttpLimits limits_;
  std::list<HttpConnection> conns_;
  HttpClock::time_point accept_paused_until_{};
};

void HttpServer::Loop::run() {
  std::vector<pollfd> fds;
  while (true) {
    auto now = HttpClock::now();
    close_finished(now);
    fds.assign(
        {{wake_.get(), POLLIN, 0}, {now < accept_paused_until_ ? -1 : listener_.get(), POLLIN, 0}});
    for (const auto& c : conns_) fds.push_back({c.fd(), c.poll_events(), 0});
    if (::poll(fds.data(), fds.size(), timeout_ms(now)) < 0) {
      if (errno == EINTR) continue;
      spdlog::warn("{}", errno_error("http: poll", errno).what());
      std::this_thread::sleep_for(100ms);
      continue;
    }
    if (fds[0].revents) return;
    now = HttpClock::now();
    auto pfd = fds.begin() + 2;
    for (auto& c : conns_)
      if ((pfd++)->revents) c.on_ready(now, routes_);
    if (fds[1].revents) accept_some(now);
  }
}

// Closes connections done with, or past their deadline however much they still send.
void HttpServer::Loop::close_finished(HttpClock::time_point now) {
  conns_.remove_if([now](HttpConnection& c) {
    if (c.deadline() <= now && c.phase() == HttpConnection::Phase::writing) c.abort();
    return c.phase() == HttpConnection::Phase::closed || c.deadline() <= now;
  });
}

// Until the earliest deadline (rounded up, so poll never wakes just before it); -1: none.
int HttpServer::Loop::timeout_ms(HttpClock::time_point now) const {
  auto next = HttpClock::time_point::max();
  if (now < accept_paused_until_) next = accept_paused_until_;
  for (const auto& c : conns_) next = std::min(next, c.deadline());
  if (next == HttpClock::time_point::max()) return -1;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

void HttpServer::Loop::accept_some(HttpClock::time_point now) {
  // A batch at most, so connections already open are served between batches of a flood.
  for (size_t i = 0; i < limits_.max_connections; ++i) {
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ECONNABORTED || errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        if (!conns_.empty()) {
          evict();  // frees a descriptor for the next accept
          continue;
        }
        accept_paused_until_ = now + 100ms;  // else the listener stays readable: a busy loop
      }
      return;
    }
    if (conns_.size() >= limits_.max_connections) evict();
    conns_.emplace_back(std::move(fd), now, limits_);
    conns_.back().on_ready(now, routes_);  // the request has usually arrived already
  }
}

// Makes room without refusing anyone: closes the oldest connection already answered, else the
// oldest still sending its request. A flood of idle connections thus only displaces itself, and a
// probe (which sends its request at once) is answered before it could be displaced.
void HttpServer::Loop::evict() {
  // Phase order is the order they are given up in; min_element finds the oldest of the lowest.
  auto victim = std::min_element(conns_.begin(), conns_.end(), [](const auto& a, const auto& b) {
    return a.phase() < b.phase();
  });
  if (victim == conns_.end()) return;
  if (victim->phase() == HttpConnection::Phase::writing) victim->abort();
  conns_.erase(victim);
}

Result<std::pair<std::string, int>> parse_listen_address(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return Error{"--listen '" + s + "': expected HOST:PORT"};
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  // An address, never a name: a DNS lookup would stall start-up (and SIGTERM) for seconds.
  in6_addr any{};
  if (inet_pton(AF_INET, host.c_str(), &any) != 1 && inet_pton(AF_INET6, host.c_str(), &any) != 1)
    return Error{"--listen '" + s + "': the host must be an IP address, e.g. 0.0.0.0:9476"};
  int port = -1;
  auto p = s.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc{} || end != p.data() + p.size() || port < 0 || port > 65535)
    return Error{"--listen '" + s + "': bad port"};
  return std::pair{host, port};
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                      std::vector<Route> routes,
                                                      HttpLimits limits) {
  auto addr = parse_listen_address(listen);
  if (!addr) return addr.error();
  limits.max_connections = std::max<size_t>(limits.max_connections, 1);
  auto sock = listen_on(addr->first, addr->second, listen);
  if (!sock) return sock.error();
  Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (wake.get() < 0) return errno_error("http: eventfd", errno);
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->port_ = sock->second;
  s->loop_ =
      std::make_unique<Loop>(std::move(sock->first), std::move(wake), std::move(routes), limits);
  s->thread_ = std::thread([loop = s->loop_.get()] { loop->run(); });
  return s;
}

HttpServer::~HttpServer() {
  if (loop_) loop_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vxt::agent
