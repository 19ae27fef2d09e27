#include "agent/http_server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

namespace vxt::agent {
namespace {

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

}  // namespace
}  // namespace vxt::agent
