// Legacy iptables rules read back through libiptc, in a namespace of the test's own: rules loaded
// by iptables-legacy, real packets sent to hit them, and every counter and field checked.
#include "netfilter/xt_legacy_dump.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "fresh_netns.hpp"
#include "ipv4.hpp"

namespace vxt::nf {
namespace {

using test::ip;
using test::run_command;

// Built-in in the filter and raw tables, and the rules iptables-legacy-restore loads in both.
constexpr const char* kRuleset = R"(*raw
-A PREROUTING -p udp --dport 9998 -j DROP
COMMIT
*filter
:FORWARD DROP [0:0]
:cali-fw-x - [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p udp --dport 9999 -j DROP
-A INPUT -s 10.1.0.0/16 -m comment --comment "cali:abc" -m comment --comment "Drop if no policies passed packet" -j DROP
-A INPUT -i veth+ -j REJECT
-A INPUT -m state --state INVALID -j DROP
-A INPUT -p udp --dport 7001 -j NFLOG --nflog-prefix "API0|default.knp.default.deny"
-A INPUT -j cali-fw-x
-A cali-fw-x ! -i eth0 -d 192.0.2.0/24 -p tcp --dport 1:100 -j LOG --log-prefix "cali-drop "
-A cali-fw-x ! -s 127.0.0.0/8 ! -p tcp -j DROP
-A cali-fw-x -i eth0 -p udp ! --dport 53 -j RETURN
-A cali-fw-x -s 127.0.0.1 -j RETURN
COMMIT
)";

constexpr unsigned char kVeth0Mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};

std::vector<std::string> table_names() {
  auto names = legacy_table_names();
  EXPECT_TRUE(names) << names.error().what();
  std::vector<std::string> out = names ? *names : std::vector<std::string>{};
  std::sort(out.begin(), out.end());
  return out;
}

// Runs a setup command; throws if it fails, which ends the test there.
void sh(const std::vector<std::string>& argv, const std::string& input = "") {
  if (run_command(argv, input) == 0) return;
  std::string line;
  for (const auto& a : argv) line += " " + a;
  throw std::runtime_error("failed:" + line);
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

sockaddr_in inet(const char* addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = ip(addr);
  return sa;
}

void send_udp(const char* src, const char* dst, uint16_t dport, int count) {
  Fd s(socket(AF_INET, SOCK_DGRAM, 0));
  ASSERT_GE(s.fd, 0);
  if (src) {
    auto from = inet(src, 0);
    ASSERT_EQ(bind(s.fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)), 0) << src;
  }
  auto to = inet(dst, dport);
  for (int i = 0; i < count; ++i)
    ASSERT_EQ(sendto(s.fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 1);
}

uint16_t checksum(const void* data, size_t len, uint32_t sum = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (len & 1) sum += p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

// SYN and FIN together: conntrack calls no connection that, so the packet is state INVALID.
void send_tcp_syn_fin(const char* dst) {
  Fd s(socket(AF_INET, SOCK_RAW, IPPROTO_TCP));
  ASSERT_GE(s.fd, 0);
  struct {
    uint32_t src, dst;
    uint8_t zero, proto;
    uint16_t len;
    tcphdr tcp;
  } __attribute__((packed)) p{ip("127.0.0.1"), ip(dst), 0, IPPROTO_TCP, htons(sizeof(tcphdr)), {}};
  p.tcp.source = htons(40000);
  p.tcp.dest = htons(80);
  p.tcp.doff = 5;
  p.tcp.syn = p.tcp.fin = 1;
  p.tcp.window = htons(1024);
  p.tcp.check = checksum(&p, sizeof(p));
  auto to = inet(dst, 0);
  ASSERT_EQ(sendto(s.fd, &p.tcp, sizeof(p.tcp), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            static_cast<ssize_t>(sizeof(p.tcp)));
}

// A UDP frame written on vpeer, the far end of veth0: it arrives on veth0 as from a neighbour.
void send_frames_from_peer(const char* src, const char* dst, uint16_t dport, int count) {
  Fd s(socket(AF_PACKET, SOCK_RAW, 0));
  ASSERT_GE(s.fd, 0);
  struct {
    ether_header eth;
    iphdr ip;
    udphdr udp;
    char payload[4];
  } __attribute__((packed)) f{};
  std::memcpy(f.eth.ether_dhost, kVeth0Mac, ETH_ALEN);
  f.eth.ether_shost[0] = 0x02;
  f.eth.ether_shost[5] = 0x02;
  f.eth.ether_type = htons(ETHERTYPE_IP);
  f.ip.version = 4;
  f.ip.ihl = 5;
  f.ip.ttl = 64;
  f.ip.protocol = IPPROTO_UDP;
  f.ip.tot_len = htons(sizeof(f) - sizeof(f.eth));
  f.ip.saddr = ip(src);
  f.ip.daddr = ip(dst);
  f.ip.check = checksum(&f.ip, sizeof(f.ip));
  f.udp.source = htons(40000);
  f.udp.dest = htons(dport);
  f.udp.len = htons(sizeof(f.udp) + sizeof(f.payload));  // checksum 0: none, allowed in IPv4
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex("vpeer"));
  to.sll_halen = ETH_ALEN;
  std::memcpy(to.sll_addr, kVeth0Mac, ETH_ALEN);
  ASSERT_NE(to.sll_ifindex, 0);
  for (int i = 0; i < count; ++i)
    ASSERT_EQ(sendto(s.fd, &f, sizeof(f), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(sizeof(f)));
}

const NftRule* find(const std::vector<NftRule>& rules, const std::string& table,
                    const std::string& chain, uint64_t handle) {
  for (const auto& r : rules)
    if (r.key == RuleKey{"ip", table, chain, handle, RuleBackend::iptables_legacy}) return &r;
  return nullptr;
}

uint64_t packets(const std::vector<NftRule>& rules, const std::string& table,
                 const std::string& chain, uint64_t handle) {
  const NftRule* r = find(rules, table, chain, handle);
  return r && r->packets ? *r->packets : ~0ULL;
}

NftRule::AddrMatch prefix(const char* addr, const char* mask, bool negate) {
  return {ip(addr), ip(mask), negate};
}

std::tuple<uint32_t, uint32_t, bool> fields(const NftRule::AddrMatch& m) {
  return {m.addr, m.mask, m.negate};
}

// Expects `r` to be a plain rule: `drops`, and nothing else but what the caller checks.
void expect_rule(const NftRule* r, bool drops, uint64_t packets) {
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->policy);
  EXPECT_EQ(r->drops, drops);
  EXPECT_EQ(r->counts_drops_only, drops);
  EXPECT_EQ(r->packets, packets);
}

void expect_policy(const NftRule* r, bool drops, uint64_t packets) {
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->policy);
  EXPECT_EQ(r->drops, drops);
  EXPECT_EQ(r->counts_drops_only, drops);
  EXPECT_EQ(r->packets, packets);
  EXPECT_FALSE(r->comment || r->log_prefix || r->l4proto || r->dport || r->saddr || r->daddr ||
               r->iifname || r->ct_invalid);
}

void write_file(const char* path, const char* text) {
  std::ofstream f(path);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

TEST(LegacyRules, ExactCountersAndFieldsOfRulesRealPacketsHit) {
  test::in_fresh_netns([] {
    // lo, with 10.1.0.1 to send from; veth0 whose far end writes frames in; veth1 to forward to.
    sh({"ip", "link", "set", "lo", "up"});
    sh({"ip", "addr", "add", "10.1.0.1/16", "dev", "lo"});
    sh({"ip", "link", "add", "veth0", "address", "02:00:00:00:00:01", "type", "veth", "peer",
        "name", "vpeer"});
    sh({"ip", "addr", "add", "10.2.0.1/24", "dev", "veth0"});
    sh({"ip", "link", "set", "veth0", "up"});
    sh({"ip", "link", "set", "vpeer", "up"});
    sh({"ip", "link", "add", "veth1", "type", "veth", "peer", "name", "vpeer1"});
    sh({"ip", "link", "set", "veth1", "up"});
    sh({"ip", "link", "set", "vpeer1", "up"});
    sh({"ip", "route", "add", "10.3.0.0/24", "dev", "veth1"});  // not back out veth0: no redirect
    write_file("/proc/sys/net/ipv4/ip_forward", "1");
    sh({"iptables-legacy-restore", "-w", "10"}, kRuleset);
    EXPECT_EQ(table_names(), (std::vector<std::string>{"filter", "raw"}));

    Fd listener(socket(AF_INET, SOCK_DGRAM, 0));  // so 7001's packets draw no ICMP reply
    auto at = inet("127.0.0.1", 7001);
    ASSERT_EQ(bind(listener.fd, reinterpret_cast<sockaddr*>(&at), sizeof(at)), 0);

    send_tcp_syn_fin("127.0.0.1");                           // INPUT 1: ctstate INVALID
    send_udp(nullptr, "127.0.0.1", 9999, 3);                 // INPUT 2
    send_udp("10.1.0.1", "10.1.0.1", 7002, 2);               // INPUT 3: from 10.1.0.0/16
    send_frames_from_peer("10.2.0.2", "10.2.0.1", 7000, 2);  // INPUT 4: -i veth+, REJECTed
    send_udp(nullptr, "127.0.0.1", 7001, 5);                 // INPUT 6 and 7, cali-fw-x 4, policy
    send_frames_from_peer("10.2.0.2", "10.3.0.5", 7000, 2);  // FORWARD's policy
    send_udp(nullptr, "127.0.0.1", 9998, 1);                 // raw PREROUTING 1
    // Every packet sent and each REJECT's ICMP reply leaves through OUTPUT; all but the raw
    // table's drop arrive through PREROUTING.
    constexpr uint64_t kSent = 1 + 3 + 2 + 5 + 1, kRejected = 2, kArrived = 1 + 3 + 2 + 2 + 5 + 2;

    // Delivery finishes in softirq, maybe after sendto returned: wait until all have arrived.
    std::vector<NftRule> rules;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      auto r = legacy_rules();
      ASSERT_TRUE(r) << r.error().what();
      rules = std::move(*r);
      if (packets(rules, "raw", "PREROUTING", 0) == kArrived &&
          packets(rules, "filter", "OUTPUT", 0) == kSent + kRejected &&
          packets(rules, "filter", "FORWARD", 0) == 2)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);

    // filter's 7 + 4 rules and 3 policies, raw's 1 rule and 2 policies: no other table opened.
    EXPECT_EQ(rules.size(), 17u);
    EXPECT_EQ(table_names(), (std::vector<std::string>{"filter", "raw"}));
    for (const auto& r : rules) {
      EXPECT_EQ(r.key.family, "ip");
      EXPECT_EQ(r.key.backend, RuleBackend::iptables_legacy);
    }

    const NftRule* r = find(rules, "filter", "INPUT", 1);
    expect_rule(r, true, 1);
    EXPECT_TRUE(r->ct_invalid);
    EXPECT_FALSE(r->l4proto || r->saddr || r->daddr || r->iifname || r->comment || r->log_prefix);

    r = find(rules, "filter", "INPUT", 2);
    expect_rule(r, true, 3);
    EXPECT_EQ(r->l4proto, IPPROTO_UDP);
    EXPECT_EQ(r->dport, 9999);
    EXPECT_FALSE(r->ct_invalid || r->saddr || r->daddr || r->iifname || r->comment);

    r = find(rules, "filter", "INPUT", 3);
    expect_rule(r, true, 2);
    EXPECT_EQ(r->comment, "cali:abc Drop if no policies passed packet");
    ASSERT_TRUE(r->saddr);
    EXPECT_EQ(fields(*r->saddr), fields(prefix("10.1.0.0", "255.255.0.0", false)));
    EXPECT_FALSE(r->daddr || r->l4proto || r->dport || r->iifname || r->ct_invalid);

    r = find(rules, "filter", "INPUT", 4);
    expect_rule(r, true, 2);  // REJECT
    ASSERT_TRUE(r->iifname);
    EXPECT_EQ(r->iifname->bytes, "veth");  // -i veth+: the prefix alone is compared
    EXPECT_FALSE(r->iifname->negate);
    EXPECT_TRUE(r->iifname->matches("veth0"));
    EXPECT_FALSE(r->iifname->matches("eth0"));

    r = find(rules, "filter", "INPUT", 5);
    expect_rule(r, true, 0);  // INVALID was dropped by INPUT 1 already
    EXPECT_TRUE(r->ct_invalid);

    r = find(rules, "filter", "INPUT", 6);
    expect_rule(r, false, 5);  // NFLOG names the policy; it does not drop
    EXPECT_EQ(r->log_prefix, "API0|default.knp.default.deny");
    EXPECT_EQ(r->l4proto, IPPROTO_UDP);
    EXPECT_EQ(r->dport, 7001);

    expect_rule(find(rules, "filter", "INPUT", 7), false, 5);  // -j cali-fw-x
    EXPECT_FALSE(find(rules, "filter", "INPUT", 8));

    r = find(rules, "filter", "cali-fw-x", 1);
    expect_rule(r, false, 0);
    EXPECT_EQ(r->log_prefix, "cali-drop ");
    EXPECT_EQ(r->l4proto, IPPROTO_TCP);
    EXPECT_FALSE(r->dport);  // a range
    ASSERT_TRUE(r->daddr && r->iifname);
    EXPECT_EQ(fields(*r->daddr), fields(prefix("192.0.2.0", "255.255.255.0", false)));
    EXPECT_EQ(r->iifname->bytes, std::string("eth0\0", 5));  // an exact name: with its NUL
    EXPECT_TRUE(r->iifname->negate);

    r = find(rules, "filter", "cali-fw-x", 2);
    expect_rule(r, true, 0);
    EXPECT_FALSE(r->l4proto);  // ! -p tcp
    ASSERT_TRUE(r->saddr);
    EXPECT_EQ(fields(*r->saddr), fields(prefix("127.0.0.0", "255.0.0.0", true)));
    EXPECT_FALSE(r->saddr->matches(ip("127.0.0.1")));

    r = find(rules, "filter", "cali-fw-x", 3);
    expect_rule(r, false, 0);
    EXPECT_EQ(r->l4proto, IPPROTO_UDP);
    EXPECT_FALSE(r->dport);  // ! --dport 53
    ASSERT_TRUE(r->iifname);
    EXPECT_FALSE(r->iifname->negate);

    r = find(rules, "filter", "cali-fw-x", 4);
    expect_rule(r, false, 5);
    ASSERT_TRUE(r->saddr);
    EXPECT_EQ(fields(*r->saddr), fields(prefix("127.0.0.1", "255.255.255.255", false)));
    EXPECT_FALSE(find(rules, "filter", "cali-fw-x", 0)) << "a user chain has no policy";

    expect_policy(find(rules, "filter", "INPUT", 0), false, 5);
    expect_policy(find(rules, "filter", "FORWARD", 0), true, 2);
    expect_policy(find(rules, "filter", "OUTPUT", 0), false, kSent + kRejected);

    r = find(rules, "raw", "PREROUTING", 1);
    expect_rule(r, true, 1);
    EXPECT_EQ(r->dport, 9998);
    expect_policy(find(rules, "raw", "PREROUTING", 0), false, kArrived);
    expect_policy(find(rules, "raw", "OUTPUT", 0), false, kSent + kRejected);
  });
}

TEST(LegacyRules, ANamespaceThatNeverUsedXtablesHasNoneAndGetsNone) {
  test::in_fresh_netns([] {
    // iptables-nft's rules are nf_tables', not x_tables': still no legacy table.
    sh({"iptables-nft", "-w", "-A", "INPUT", "-j", "DROP"});
    EXPECT_EQ(table_names(), std::vector<std::string>{});
    auto rules = legacy_rules();
    ASSERT_TRUE(rules) << rules.error().what();
    EXPECT_TRUE(rules->empty());
    EXPECT_EQ(table_names(), std::vector<std::string>{}) << "reading created a table";
  });
}

TEST(LegacyRules, NoIpTablesModuleIsNoTables) {
  // What /proc/thread-self/net looks like before ip_tables is loaded: no such file.
  auto names = legacy_table_names("/proc/thread-self/net/ip_tables_names.absent");
  ASSERT_TRUE(names) << names.error().what();
  EXPECT_TRUE(names->empty());
}

TEST(LegacyRules, ATableItCannotReadIsAnErrorSayingWhy) {
  test::in_fresh_netns([] {
    sh({"iptables-legacy", "-w", "-A", "INPUT", "-j", "ACCEPT"});
    // This thread alone gives up CAP_NET_RAW and CAP_NET_ADMIN, as an unprivileged agent would.
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct caps[2]{};
    ASSERT_EQ(syscall(SYS_capget, &hdr, caps), 0);
    for (int cap : {CAP_NET_RAW, CAP_NET_ADMIN}) caps[cap / 32].effective &= ~(1U << (cap % 32));
    ASSERT_EQ(syscall(SYS_capset, &hdr, caps), 0);
    auto rules = legacy_rules();
    ASSERT_FALSE(rules);
    EXPECT_EQ(rules.error().err, EPERM);
    EXPECT_NE(rules.error().message.find("iptables-legacy table filter: Permission denied"),
              std::string::npos)
        << rules.error().message;
  });
}

TEST(LegacyRules, ThreadsInTwoNamespacesEachReadTheirOwn) {
  // libiptc is not thread-safe: reading in parallel must neither crash nor mix namespaces up.
  auto reader = [](const char* rule_dport, uint64_t want_dport) {
    test::in_fresh_netns([&] {
      sh({"iptables-legacy", "-w", "-A", "INPUT", "-p", "udp", "--dport", rule_dport, "-j",
          "DROP"});
      for (int i = 0; i < 200; ++i) {
        auto rules = legacy_rules();
        ASSERT_TRUE(rules) << rules.error().what();
        ASSERT_EQ(rules->size(), 4u);  // the rule, and 3 policies
        const NftRule* r = find(*rules, "filter", "INPUT", 1);
        ASSERT_NE(r, nullptr);
        ASSERT_EQ(r->dport, want_dport);
      }
    });
  };
  std::thread a(reader, "1111", 1111), b(reader, "2222", 2222);
  a.join();
  b.join();
}

}  // namespace
}  // namespace vxt::nf
