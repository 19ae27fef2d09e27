// Attacks any local process could make on the agent's HTTP port, made for real over loopback,
// while a probe checks that /healthz still answers within the kubelet's 1 s.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <future>
#include <thread>

#include "http_test_client.hpp"
#include "modes/agent/http_server.hpp"

namespace vxt::agent {
namespace {

using namespace std::chrono_literals;
using namespace vxt::agent::testing;

std::unique_ptr<HttpServer> probe_server(HttpLimits limits = {}) {
  Route healthz{"/healthz", [] { return HttpResponse{200, "ok\n"}; }};
  auto s = HttpServer::start("127.0.0.1:0", {healthz}, limits);
  if (!s) throw std::runtime_error(s.error().what());
  return std::move(*s);
}

// Seconds from each slow client's connect to the server closing it; -1: still open at the end.
using ClosedAfter = std::vector<double>;

// n clients send a request line, then one more header byte every `every`, for `duration`.
ClosedAfter slowloris(int port, int n, std::chrono::milliseconds every,
                      std::chrono::milliseconds duration) {
  constexpr std::string_view kDrip = "X-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  std::vector<Socket> socks;
  std::vector<Clock::time_point> opened;
  ClosedAfter closed(n, -1);
  for (int i = 0; i < n; ++i) {
    socks.push_back(connect_loopback(port));
    opened.push_back(Clock::now());
    send_all(socks.back().fd(), "GET /healthz HTTP/1.1\r\n");
  }
  const auto end = Clock::now() + duration;
  auto next = Clock::now() + every;
  size_t sent = 0;
  while (Clock::now() < end) {
    std::vector<pollfd> p;
    std::vector<int> who;
    for (int i = 0; i < n; ++i)
      if (closed[i] < 0) {
        p.push_back({socks[i].fd(), POLLIN, 0});
        who.push_back(i);
      }
    auto wake = std::min(next, end);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count();
    ::poll(p.data(), p.size(), static_cast<int>(std::max<int64_t>(ms, 0)));
    for (size_t k = 0; k < p.size(); ++k) {
      if (!p[k].revents) continue;
      char buf[4096];
      if (::recv(p[k].fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
        closed[who[k]] = std::chrono::duration<double>(Clock::now() - opened[who[k]]).count();
    }
    if (Clock::now() >= next) {
      for (int i = 0; i < n; ++i)
        if (closed[i] < 0) ::send(socks[i].fd(), &kDrip[sent % kDrip.size()], 1, MSG_NOSIGNAL);
      ++sent;
      next += every;
    }
  }
  return closed;
}

// Fetches /healthz every 250 ms until `attack` is over; returns the slowest answer in seconds.
template <typename T>
double probe_during(int port, std::future<T>& attack) {
  double worst = 0;
  int probes = 0;
  do {
    auto r = get(port, "/healthz");
    EXPECT_EQ(r.status(), 200) << "probe " << probes << " after " << r.seconds << " s";
    worst = std::max(worst, r.seconds);
    ++probes;
  } while (attack.wait_for(250ms) != std::future_status::ready);
  return worst;
}

// The defaults as the agent runs them: a 2 s deadline, and slow clients dripping a byte every 1.5 s
// (inside any per-read timeout) while the kubelet probes.
TEST(HttpServerAttack, SlowlorisWithDefaultLimits) {
  auto s = probe_server();
  auto attack = std::async(std::launch::async, slowloris, s->port(), 8, 1500ms, 4500ms);
  std::this_thread::sleep_for(200ms);  // the slow clients hold the server first
  EXPECT_LT(probe_during(s->port(), attack), 1.0);
  for (double c : attack.get()) {
    EXPECT_GE(c, 1.95) << "closed before the 2 s request deadline";
    EXPECT_LE(c, 2.6) << "a byte every 1.5 s extended the deadline";
  }
}

// More slow clients than connections allowed, dripping faster than the (shorter) deadline.
TEST(HttpServerAttack, SlowlorisBeyondTheCap) {
  auto s = probe_server({.request_time = 600ms, .max_connections = 8});
  auto attack = std::async(std::launch::async, slowloris, s->port(), 16, 100ms, 2000ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_LT(probe_during(s->port(), attack), 1.0);
  for (double c : attack.get()) {
    EXPECT_GE(c, 0);  // every one closed: evicted, or at its deadline
    EXPECT_LE(c, 1.0);
  }
}

int idle_connections_allowed(int wanted) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  return static_cast<int>(std::min<rlim_t>(wanted, r.rlim_cur > 200 ? r.rlim_cur - 200 : 0));
}

int closed_by_server(const std::vector<Socket>& socks) {
  int closed = 0;
  for (const auto& s : socks) {
    pollfd p{s.fd(), POLLIN, 0};
    char c;
    if (::poll(&p, 1, 0) == 1 && ::recv(s.fd(), &c, 1, MSG_DONTWAIT) <= 0) ++closed;
  }
  return closed;
}

// Connections that send nothing, far beyond the cap: each new one displaces the oldest idle one,
// so none of them locks out the probe, and the server holds at most the cap.
TEST(HttpServerAttack, IdleConnectionsBeyondTheCap) {
  const HttpLimits limits;
  auto s = probe_server(limits);
  const int n = idle_connections_allowed(1000);
  ASSERT_GE(n, 300) << "RLIMIT_NOFILE too low for this test";
  std::vector<Socket> idle;
  while (static_cast<int>(idle.size()) < n) {
    for (int i = 0; i < 250 && static_cast<int>(idle.size()) < n; ++i) {
      idle.push_back(connect_loopback(s->port()));
      ASSERT_TRUE(idle.back());
    }
    auto r = get(s->port(), "/healthz");
    EXPECT_EQ(r.status(), 200) << "with " << idle.size() << " idle connections";
    EXPECT_LT(r.seconds, 1.0) << "with " << idle.size() << " idle connections";
  }
  // Well before their 2 s deadline, all but the last cap-full were closed to make room.
  EXPECT_GE(closed_by_server(idle), n - static_cast<int>(limits.max_connections));
}

TEST(HttpServerAttack, OversizedHeaderIsRefused) {
  auto s = probe_server();
  Socket c = connect_loopback(s->port());
  ASSERT_TRUE(c);
  std::thread writer([&] {
    send_all(c.fd(), "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n");
  });
  auto r = read_until_close(c.fd(), 5000ms);
  ::shutdown(c.fd(), SHUT_RDWR);  // unblocks the writer if the server stopped reading
  writer.join();
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.status() == 431 || r.status() == 0) << r.bytes.substr(0, 200);
  auto ok = get(s->port(), "/healthz");
  EXPECT_EQ(ok.status(), 200);
  EXPECT_LT(ok.seconds, 1.0);
}

}  // namespace
}  // namespace vxt::agent
