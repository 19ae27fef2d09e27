#include "modes/doctor/counters.hpp"

#include <gtest/gtest.h>

namespace vxt::doctor {
namespace {

const char* kSnmp =
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens InCsumErrors\n"
    "Tcp: 1 200 120000 -1 5 2\n"
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors\n"
    "Udp: 963 0 37 10 0 0 37\n"
    "TcpExt: SyncookiesSent IPReversePathFilter\n"
    "TcpExt: 0 50\n";

TEST(Counters, ParsesSnmpAndNetstatPairsAndSkipsNegativeGauges) {
  auto c = parse_proc_counters(kSnmp);
  EXPECT_EQ(c[kUdpCsumErrors], 37u);
  EXPECT_EQ(c[kTcpCsumErrors], 2u);
  EXPECT_EQ(c[kRpFilterCounter], 50u);
  EXPECT_EQ(c.count("Tcp.MaxConn"), 0u);
}

TEST(Counters, DeltaNeverGoesNegative) {
  Counters a{{kUdpCsumErrors, 10}}, b{{kUdpCsumErrors, 47}};
  EXPECT_EQ(counter_delta(a, b, kUdpCsumErrors), 37u);
  EXPECT_EQ(counter_delta(b, a, kUdpCsumErrors), 0u);
  EXPECT_EQ(counter_delta(a, b, "Udp.Missing"), 0u);
}

}  // namespace
}  // namespace vxt::doctor
