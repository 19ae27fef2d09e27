// HTTP/1.1 on the wire for the agent's endpoint: a request head parsed from the bytes read so
// far, the answer chosen for it, the response rendered (always Connection: close). No I/O, so
// tests feed it bytes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vxt::agent {

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

struct Route {
  std::string path;
  std::function<HttpResponse()> handler;
};

struct RequestHead {
  enum class State { incomplete, complete, bad, too_large };
  State state = State::incomplete;
  std::string method;
  std::string path;  // the target without its query
  size_t size = 0;   // bytes up to and including the blank line, when complete
};

// The head at the start of `bytes`; one that does not end within max_size bytes is too_large.
RequestHead parse_request_head(std::string_view bytes, size_t max_size);

// 431, 400 or 405 for a head the server refuses, else the route's answer or 404. `extra` bytes
// after the head (a pipelined request, a body) are refused: a probe or a scrape sends neither.
HttpResponse answer(const RequestHead& head, bool extra, const std::vector<Route>& routes);

// Status line, headers and, unless the request was HEAD, the body.
std::string render(const HttpResponse& r, bool head_only);

}  // namespace vxt::agent
