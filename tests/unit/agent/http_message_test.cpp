#include "modes/agent/http_message.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace vxt::agent {
namespace {

using State = RequestHead::State;

RequestHead parse(std::string_view bytes, size_t max = 8192) {
  return parse_request_head(bytes, max);
}

TEST(HttpRequestHead, CompleteWithItsSize) {
  std::string req = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
  auto h = parse(req);
  EXPECT_EQ(h.state, State::complete);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/metrics");
  EXPECT_EQ(h.size, req.size());
  EXPECT_EQ(parse(req + "GET /").size, req.size());  // what follows is the caller's to judge
}

TEST(HttpRequestHead, BareLineFeedsAndALeadingBlankLine) {
  EXPECT_EQ(parse("HEAD /healthz HTTP/1.0\n\n").state, State::complete);
  EXPECT_EQ(parse("\r\nGET / HTTP/1.1\r\n\r\n").state, State::complete);
}

TEST(HttpRequestHead, IncompleteUntilTheBlankLine) {
  for (std::string_view s :
       {"", "G", "GET /healthz HTTP/1.1", "GET /healthz HTTP/1.1\r\n",
        "GET /healthz HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nX-Drip: aa"})
    EXPECT_EQ(parse(s).state, State::incomplete) << s;
}

TEST(HttpRequestHead, Refused) {
  for (std::string_view s : {
           "hello\r\n\r\n",                          // no target, no version
           "GET /\r\n\r\n",                          // HTTP/0.9
           "GET / HTTP/2.0\r\n\r\n",                 // not HTTP/1.x
           "GET  / HTTP/1.1\r\n\r\n",                // two spaces
           "GET http://a/ HTTP/1.1\r\n\r\n",         // absolute form: never sent to an endpoint
           "G(T / HTTP/1.1\r\n\r\n",                 // not a token
           "GET / HTTP/1.1\r\nHost : a\r\n\r\n",     // space before the colon
           "GET / HTTP/1.1\r\nno colon\r\n\r\n",     // not a field
           "GET / HTTP/1.1\r\nA: b\r\n folded\r\n",  // obsolete line folding
           "\x16\x03\x01\x02\x00\x01",           // a TLS ClientHello: refused before any newline
           "GET / HTTP/1.1\r\nA: \x01\r\n\r\n",  // a control byte
       })
    EXPECT_EQ(parse(s).state, State::bad) << s;
  EXPECT_EQ(parse(std::string("GET /\0 HTTP/1.1\r\n\r\n", 19)).state, State::bad);
}

TEST(HttpRequestHead, SizeLimitIsExact) {
  std::string head = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse(head, head.size()).state, State::complete);
  EXPECT_EQ(parse(head, head.size() - 1).state, State::too_large);
  EXPECT_EQ(parse(head.substr(0, 50), 50).state, State::too_large);  // full without a blank line
  EXPECT_EQ(parse(head.substr(0, 49), 50).state, State::incomplete);
}

std::vector<Route> routes() {
  return {{"/healthz",
           [] {
             return HttpResponse{200, "ok\n"};
           }},
          {"/boom", []() -> HttpResponse { throw std::runtime_error("boom"); }}};
}

RequestHead head(const char* method, const char* path) {
  return {State::complete, method, path, 1};
}

TEST(HttpAnswer, StatusForEachKindOfRequest) {
  EXPECT_EQ(answer(head("GET", "/healthz"), false, routes()).status, 200);
  EXPECT_EQ(answer(head("HEAD", "/healthz"), false, routes()).status, 200);
  EXPECT_EQ(answer(head("GET", "/other"), false, routes()).status, 404);
  EXPECT_EQ(answer(head("POST", "/healthz"), false, routes()).status, 405);
  EXPECT_EQ(answer(head("GET", "/healthz"), true, routes()).status, 400);  // pipelined
  EXPECT_EQ(answer({State::bad}, false, routes()).status, 400);
  EXPECT_EQ(answer({State::too_large}, false, routes()).status, 431);
  auto boom = answer(head("GET", "/boom"), false, routes());
  EXPECT_EQ(boom.status, 500);
  EXPECT_EQ(boom.body, "boom\n");
}

TEST(HttpRender, HeadersAndBody) {
  EXPECT_EQ(render({200, "ok\n"}, false),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\nok\n");
  EXPECT_EQ(render({200, "ok\n"}, true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_NE(render({405, ""}, false).find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
}

}  // namespace
}  // namespace vxt::agent
