// The agent's HTTP endpoint (cpp-httplib): GET routes served from a small thread pool of its
// own, started in the constructor, stopped and joined in the destructor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "result.hpp"

namespace httplib {
class Server;
}

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

// "HOST:PORT", ":PORT" (every address) or "[::1]:PORT".
Result<std::pair<std::string, int>> parse_listen_address(const std::string& s);

class HttpServer {
 public:
  // Binds before returning, so a port in use is a start-up error, not a silent failure.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                   std::vector<Route> routes);
  ~HttpServer();
  int port() const { return port_; }

 private:
  HttpServer();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace vxt::agent
