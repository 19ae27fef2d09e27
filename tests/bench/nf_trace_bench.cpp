// What naming netfilter drops by trace costs, in one run (ratios, not absolute times): the packet
// path with no vxtrace table, with the table but the packet's flow not traced, and traced (the
// kernel building and multicasting its trace messages); and in userspace, reading and joining
// one dropped packet's traces. Runs in a namespace of its own (run.py makes it); prints one JSON
// line. Packets are UDP datagrams over loopback, dropped by an nftables rule in OUTPUT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "netfilter/trace_listener.hpp"
#include "netfilter/trace_table.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Nanoseconds per sendto() of a datagram that the ruleset drops; the best of `rounds`.
double send_ns(int fd, const sockaddr_in& dst, int packets, int rounds) {
  double best = 1e18;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < packets; ++i)
      sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&dst), sizeof(dst));
    best = std::min(best,
                    std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / packets);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int packets = argc > 1 ? std::atoi(argv[1]) : 20000;
  if (std::system("nft add table ip vxbench && nft add chain ip vxbench out "
                  "'{ type filter hook output priority 0; }' && "
                  "nft add rule ip vxbench out udp dport 9 drop") != 0) {
    std::fprintf(stderr, "nf_trace_bench: nft failed (run it in a namespace of its own)\n");
    return 1;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(9);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint32_t lo = htonl(INADDR_LOOPBACK);

  double bare = send_ns(fd, dst, packets, 5);
  auto listener = vxt::nf::TraceListener::open();
  auto table = vxt::nf::TraceTable::create();
  if (!listener || !table) {
    std::fprintf(stderr, "nf_trace_bench: %s\n",
                 (!listener ? listener.error() : table.error()).what().c_str());
    return 1;
  }
  double untraced = send_ns(fd, dst, packets, 5);
  (*table)->trace({lo, lo, IPPROTO_UDP});
  usleep(20000);
  // Traced: each packet's trace messages queue on the listener (read per batch, as vxtrace does).
  bool lost = false;
  int batch = 1000;
  double traced = 1e18, read_ns = 1e18;
  size_t traces = 0;
  for (int r = 0; r < 5; ++r) {
    double send_total = 0, read_total = 0;
    for (int done = 0; done < packets; done += batch) {
      send_total += send_ns(fd, dst, batch, 1) * batch;
      auto t0 = Clock::now();
      auto got = (*listener)->read(lost);
      read_total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
      traces += got.size();
    }
    traced = std::min(traced, send_total / packets);
    read_ns = std::min(read_ns, read_total / packets);
  }
  std::printf(
      "{\"packets\":%d,\"send_ns_no_table\":%.0f,\"send_ns_untraced\":%.0f,"
      "\"send_ns_traced\":%.0f,\"read_join_ns_per_drop\":%.0f,\"drop_traces\":%zu,"
      "\"traces_lost\":%s}\n",
      packets, bare, untraced, traced, read_ns, traces, lost ? "true" : "false");
  close(fd);
}
