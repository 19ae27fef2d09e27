// vxtrace's trace table and trace listener against the real kernel, in a network namespace of
// the test's own: the table is created and removed, marks only the flows it was given, and the
// kernel's trace of a packet dropped by a rule names that rule.
#include "netfilter/trace_table.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "netfilter/rule_watch.hpp"
#include "netfilter/trace_listener.hpp"

namespace vxt::nf {
namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  pclose(p);
  return out;
}

// Runs `body` on a thread in a fresh network namespace (with lo up), which dies with it.
void in_new_netns(const std::function<void()>& body) {
  std::thread t([&] {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0);
    run("ip link set lo up");
    body();
  });
  t.join();
}

void send_udp(const char* dst, uint16_t sport, uint16_t dport) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(sport);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  a.sin_port = htons(dport);
  inet_pton(AF_INET, dst, &a.sin_addr);
  sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  close(s);
}

// /proc/thread-self/ns/net is this thread's namespace; nft runs in it through nsenter.
std::string nft(const std::string& args) {
  return run("nsenter --net=/proc/" + std::to_string(getpid()) + "/task/" +
             std::to_string(gettid()) + "/ns/net nft " + args);
}

TEST(TraceTable, TracesOnlyItsFlowsNamesTheDroppingRuleAndIsRemoved) {
  in_new_netns([] {
    nft("add table ip t");
    ASSERT_EQ(nft("'add chain ip t inp { type filter hook input priority 0; }'"), "");
    nft("add rule ip t inp udp dport 9999 drop");  // no counter
    auto listener = TraceListener::open();
    ASSERT_TRUE(listener) << listener.error().what();
    std::string name;
    {
      auto table = TraceTable::create();
      ASSERT_TRUE(table) << table.error().what();
      name = (*table)->name();
      EXPECT_NE(nft("list table inet " + name).find("meta nftrace set 1"), std::string::npos);
      uint32_t lo = htonl(INADDR_LOOPBACK);
      send_udp("127.0.0.1", 40001, 9999);  // not traced yet
      usleep(20000);  // received (a slow VM's loopback delivers later) before it could be
      bool lost = false;
      EXPECT_TRUE((*listener)->read(lost).empty());
      EXPECT_TRUE((*table)->trace({lo, lo, IPPROTO_UDP}));
      usleep(20000);  // the set addition is not waited for
      send_udp("127.0.0.1", 40002, 9999);
      send_udp("127.0.0.1", 40003, 9998);  // traced, not dropped: no drop trace
      auto traces = (*listener)->read(lost);
      ASSERT_EQ(traces.size(), 1u);
      EXPECT_FALSE(lost);
      const auto& t = traces[0];
      EXPECT_EQ(t.family, "ip");
      EXPECT_EQ(t.table, "t");
      EXPECT_EQ(t.chain, "inp");
      EXPECT_NE(t.handle, 0u);
      EXPECT_EQ(t.packet.proto, IPPROTO_UDP);
      EXPECT_EQ(t.packet.sport, 40002);
      EXPECT_EQ(t.packet.dport, 9999);
      EXPECT_EQ(t.packet.src, lo);
      // A base chain's policy drop comes as the chain's, handle 0.
      ASSERT_EQ(nft("'add chain ip t outp { type filter hook output priority 0; policy drop; }'"),
                "");
      send_udp("127.0.0.1", 40004, 7000);
      traces = (*listener)->read(lost);
      ASSERT_EQ(traces.size(), 1u);
      EXPECT_EQ(traces[0].chain, "outp");
      EXPECT_EQ(traces[0].handle, 0u);
      nft("delete chain ip t outp");
    }
    EXPECT_EQ(nft("list table inet " + name).find("nftrace"), std::string::npos);  // removed
  });
}

TEST(RuleWatch, ARuleReplacedInPlaceComesWithWhatItDroppedAndWhatReplacedIt) {
  in_new_netns([] {
    ASSERT_EQ(nft("add table ip t"), "");
    ASSERT_EQ(nft("'add chain ip t outp { type filter hook output priority 0; }'"), "");
    ASSERT_EQ(nft("add rule ip t outp udp dport 9999 counter drop"), "");
    auto watch = RuleWatch::open();
    ASSERT_TRUE(watch) << watch.error().what();
    for (int i = 0; i < 3; ++i) send_udp("127.0.0.1", 40010, 9999);
    // iptables -R's way: the same handle, a new rule, its counter back at zero.
    std::string handle = nft("-a list chain ip t outp | sed -n 's/.*drop # handle //p'");
    ASSERT_EQ(nft("replace rule ip t outp handle " + handle.substr(0, handle.find('\n')) +
                  " udp dport 9999 counter drop"),
              "");
    bool lost = false;
    auto changes = (*watch)->changes(lost);
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_FALSE(lost);
    const auto& old = changes[0];
    EXPECT_EQ(old.kind, RuleWatch::Change::deleted);
    EXPECT_EQ(old.rule.key.table, "t");
    EXPECT_EQ(old.rule.key.chain, "outp");
    EXPECT_EQ(old.rule.packets, 3u);
    EXPECT_TRUE(old.rule.drops && old.rule.counts_drops_only);
    EXPECT_EQ(changes[1].kind, RuleWatch::Change::created);
    EXPECT_EQ(changes[1].rule.key.handle, old.rule.key.handle);
    EXPECT_EQ(changes[1].rule.packets, 0u);
    EXPECT_TRUE((*watch)->changes(lost).empty());
    // A verdict map may drop, and its counter says nothing about what it dropped.
    ASSERT_EQ(nft("add rule ip t outp counter udp dport vmap '{ 9998 : drop }'"), "");
    changes = (*watch)->changes(lost);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_TRUE(changes[0].rule.drops);
    EXPECT_FALSE(changes[0].rule.counts_drops_only);
  });
}

}  // namespace
}  // namespace vxt::nf
