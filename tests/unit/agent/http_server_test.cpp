#include "modes/agent/http_server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "http_test_client.hpp"

namespace vxt::agent {
namespace {

using namespace std::chrono_literals;
using namespace vxt::agent::testing;

TEST(ListenAddress, Forms) {
  auto any = parse_listen_address(":9476");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->first, "0.0.0.0");
  EXPECT_EQ(any->second, 9476);
  EXPECT_EQ(parse_listen_address("127.0.0.1:80")->first, "127.0.0.1");
  EXPECT_EQ(parse_listen_address("[::1]:80")->first, "::1");
  EXPECT_FALSE(parse_listen_address("9476"));
  EXPECT_FALSE(parse_listen_address(":99999"));
  EXPECT_FALSE(parse_listen_address(":http"));
  // Names would need a DNS lookup, which can stall start-up and SIGTERM for seconds.
  EXPECT_FALSE(parse_listen_address("nosuchhost.invalid:80"));
  EXPECT_FALSE(parse_listen_address("localhost:9476"));
}

TEST(HttpServer, ServesRoutesOnLoopbackAndStops) {
  auto s = HttpServer::start("127.0.0.1:0", {{"/healthz",
                                              [] {
                                                return HttpResponse{200, "ok\n"};
                                              }},
                                             {"/readyz", [] {
                                                return HttpResponse{503, "no\n"};
                                              }}});
  ASSERT_TRUE(s) << s.error().what();
  httplib::Client c("127.0.0.1", (*s)->port());
  auto ok = c.Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok\n");
  EXPECT_EQ(c.Get("/readyz")->status, 503);
  EXPECT_EQ(c.Get("/other")->status, 404);
  s->reset();  // joins its thread; a hang here fails by timeout
}

TEST(HttpServer, PortInUseIsAnError) {
  auto a = HttpServer::start("127.0.0.1:0", {});
  ASSERT_TRUE(a);
  auto b = HttpServer::start("127.0.0.1:" + std::to_string((*a)->port()), {});
  EXPECT_FALSE(b);
}

Route healthz() {
  return {"/healthz", [] { return HttpResponse{200, "ok\n"}; }};
}

std::unique_ptr<HttpServer> serve(HttpLimits limits = {}) {
  // Larger than loopback's socket buffers: a client that does not read leaves most of it unsent.
  Route big{"/big", [] { return HttpResponse{200, std::string(32 << 20, 'x')}; }};
  auto s = HttpServer::start("127.0.0.1:0", {healthz(), big}, limits);
  if (!s) throw std::runtime_error(s.error().what());
  return std::move(*s);
}

TEST(HttpServer, HeadAndOtherMethods) {
  auto s = serve();
  auto head = request(s->port(), "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.status(), 200);
  EXPECT_NE(head.received.bytes.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_EQ(head.received.body(), "");
  auto post = request(s->port(), "POST /healthz HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(post.status(), 405);
  EXPECT_TRUE(post.received.closed);
}

TEST(HttpServer, RequestInManySmallWritesWithinTheDeadline) {
  auto s = serve();
  Socket c = connect_loopback(s->port());
  ASSERT_TRUE(c);
  for (char ch : std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) {
    ASSERT_TRUE(send_all(c.fd(), std::string_view(&ch, 1)));
    std::this_thread::sleep_for(10ms);
  }
  auto r = read_until_close(c.fd(), 2000ms);
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body(), "ok\n");
  EXPECT_TRUE(r.closed);
}

TEST(HttpServer, PipelinedOrGarbageIsABadRequest) {
  auto s = serve();
  std::string one = "GET /healthz HTTP/1.1\r\n\r\n";
  EXPECT_EQ(request(s->port(), one + one).status(), 400);
  EXPECT_EQ(request(s->port(), "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").status(), 400);
  EXPECT_EQ(request(s->port(), "hello there\r\n\r\n").status(), 400);
  EXPECT_EQ(get(s->port(), "/healthz").status(), 200);
}

TEST(HttpServer, UnfinishedRequestClosedAtTheDeadline) {
  auto s = serve({.request_time = 300ms});
  Socket c = connect_loopback(s->port());
  auto t0 = Clock::now();
  ASSERT_TRUE(send_all(c.fd(), "GET /healthz HTTP/1.1\r\n"));
  auto r = read_until_close(c.fd(), 3000ms);
  double after = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.bytes, "");
  EXPECT_GE(after, 0.28);
  EXPECT_LE(after, 0.8);
}

// A client that asks for a large response and never reads it: the response is cut off at the
// deadline (a reset, so the kernel does not keep the rest), and probes never wait for it.
TEST(HttpServer, ClientThatDoesNotReadIsCutOff) {
  auto s = serve({.response_time = 500ms});
  Socket c = connect_loopback(s->port());
  auto t0 = Clock::now();
  ASSERT_TRUE(send_all(c.fd(), "GET /big HTTP/1.1\r\n\r\n"));
  for (int i = 0; i < 3; ++i) {
    auto r = get(s->port(), "/healthz");
    EXPECT_EQ(r.status(), 200);
    EXPECT_LT(r.seconds, 1.0);
  }
  pollfd p{c.fd(), 0, 0};  // POLLHUP or POLLERR: the server reset it
  ASSERT_EQ(::poll(&p, 1, 3000), 1);
  double after = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(after, 0.45);
  EXPECT_LE(after, 1.2);
}

TEST(HttpServer, StopsAtOnceWithClientsAttached) {
  auto s = serve();
  std::vector<Socket> clients;
  for (int i = 0; i < 8; ++i) {  // idle, mid-request, and one that does not read its response
    clients.push_back(connect_loopback(s->port()));
    if (i > 0)
      send_all(clients.back().fd(), i == 1 ? "GET /big HTTP/1.1\r\n\r\n" : "GET / HTTP/1.1\r\n");
  }
  std::this_thread::sleep_for(300ms);
  auto t0 = Clock::now();
  s.reset();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.1);
}

TEST(HttpServer, ListensOnEveryAddressAndOnIpv6) {
  auto any = HttpServer::start(":0", {healthz()});
  ASSERT_TRUE(any) << any.error().what();
  EXPECT_EQ(get((*any)->port(), "/healthz").status(), 200);
  auto v6 = HttpServer::start("[::1]:0", {healthz()});
  if (!v6) GTEST_SKIP() << "no IPv6 loopback: " << v6.error().what();
  httplib::Client c("::1", (*v6)->port());
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace vxt::agent
