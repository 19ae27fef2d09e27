#include "modes/agent/http_message.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>

namespace vxt::agent {
namespace {

using State = RequestHead::State;

bool is_tchar(char c) {  // RFC 9110 5.6.2: the characters of a method or a field name
  return std::isalnum(static_cast<unsigned char>(c)) ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool is_visible(char c) {  // ASCII, no space: what a request target is made of
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

bool is_control(char c) {  // anywhere in a head; catches TLS handshakes and binary at once
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\r' && c != '\n' && c != '\t') || u == 0x7f;
}

// "METHOD /target HTTP/1.x", origin-form targets only: probes and scrapes send nothing else.
bool parse_request_line(std::string_view line, RequestHead& h) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return false;
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  bool target_ok =
      !target.empty() && target[0] == '/' && std::all_of(target.begin(), target.end(), is_visible);
  if (!is_token(method) || !target_ok || (version != "HTTP/1.1" && version != "HTTP/1.0"))
    return false;
  h.method = method;
  h.path = target.substr(0, target.find('?'));
  return true;
}

// "name: value" with no space before the colon and no folding (RFC 9112 5.1, 5.2).
bool valid_field(std::string_view line) {
  auto colon = line.find(':');
  return colon != std::string_view::npos && is_token(line.substr(0, colon));
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

}  // namespace

RequestHead parse_request_head(std::string_view bytes, size_t max_size) {
  RequestHead h;
  if (std::any_of(bytes.begin(), bytes.end(), is_control)) {
    h.state = State::bad;
    return h;
  }
  bool have_request_line = false;
  for (size_t pos = 0;;) {
    auto nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos || nl >= max_size) {
      h.state = std::min(bytes.size(), nl) >= max_size ? State::too_large : State::incomplete;
      return h;
    }
    auto line = bytes.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (!have_request_line) {
      if (line.empty()) continue;  // RFC 9112 2.2: ignore blank lines before the request line
      if (!parse_request_line(line, h)) break;
      have_request_line = true;
    } else if (line.empty()) {
      h.state = State::complete;
      h.size = pos;
      return h;
    } else if (!valid_field(line)) {
      break;
    }
  }
  h.state = State::bad;
  return h;
}

HttpResponse answer(const RequestHead& head, bool extra, const std::vector<Route>& routes) {
  if (head.state == State::too_large) return {431, "request head over the size limit\n"};
  if (head.state != State::complete) return {400, "bad request\n"};
  if (head.method != "GET" && head.method != "HEAD") return {405, "only GET and HEAD\n"};
  if (extra) return {400, "one request per connection\n"};
  for (const auto& r : routes) {
    if (r.path != head.path) continue;
    try {
      return r.handler();
    } catch (const std::exception& e) {
      return {500, std::string(e.what()) + "\n"};
    }
  }
  return {404, "not found\n"};
}

std::string render(const HttpResponse& r, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

}  // namespace vxt::agent
