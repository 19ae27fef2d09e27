#include "agent/http_server.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <charconv>

namespace vxt::agent {
namespace {

constexpr size_t kWorkers = 2;  // scrapes and probes are rare and cheap

}  // namespace

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

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                      std::vector<Route> routes) {
  auto addr = parse_listen_address(listen);
  if (!addr) return addr.error();
  std::unique_ptr<HttpServer> s(new HttpServer());
  auto& svr = *s->server_;
  svr.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  // Short timeouts: a stuck client must not hold a worker, nor delay shutdown.
  svr.set_keep_alive_timeout(1);
  svr.set_read_timeout(2);
  svr.set_write_timeout(2);
  svr.set_payload_max_length(4096);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second agent on the
  // node would silently share the port and answer every other scrape.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  for (auto& r : routes) {
    svr.Get(r.path, [h = std::move(r.handler)](const httplib::Request&, httplib::Response& res) {
      auto out = h();
      res.status = out.status;
      res.set_content(out.body, out.content_type.c_str());
    });
  }
  const auto& [host, port] = *addr;
  s->port_ = port == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, port) ? port : -1);
  if (s->port_ < 0) return errno_error("cannot listen on " + listen, errno);
  s->thread_ = std::thread([&svr] { svr.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it (bounded) so the destructor
  // can always end it.
  for (int i = 0; i < 200 && !svr.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return s;
}

HttpServer::~HttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vxt::agent
