// The agent's HTTP endpoint for probes and scrapes: one thread polls every socket and runs the
// (cheap) handlers, each connection has a deadline and their number a cap, so no client can keep
// /healthz from answering. Not cpp-httplib 0.11.4: it gives each connection a pool worker for its
// life and has only per-recv timeouts, so two clients sending a byte a second starved it.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "modes/agent/http_connection.hpp"
#include "modes/agent/http_message.hpp"
#include "sys/result.hpp"

namespace vxt::agent {

// "HOST:PORT", ":PORT" (every address) or "[::1]:PORT".
Result<std::pair<std::string, int>> parse_listen_address(const std::string& s);

class HttpServer {
 public:
  // Binds before returning, so a port in use is a start-up error, not a silent failure.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                   std::vector<Route> routes,
                                                   HttpLimits limits = {});
  ~HttpServer();  // stops the thread at once, whatever its clients do
  int port() const { return port_; }

 private:
  class Loop;
  HttpServer() = default;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace vxt::agent
