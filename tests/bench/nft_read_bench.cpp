// What naming a netfilter drop's rule costs: one reading of this namespace's nftables rules and
// counters (loader/netfilter/nft_dump.hpp), repeated. run.py fills a throwaway namespace with
// N Calico-style iptables-nft rules and runs this inside it; prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "netfilter/nft_dump.hpp"

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 50;
  auto dumper = vxt::nf::NftDumper::open();
  if (!dumper) {
    std::fprintf(stderr, "nft_read_bench: %s\n", dumper.error().what().c_str());
    return 1;
  }
  std::vector<double> us;
  size_t rules = 0;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*dumper)->ruleset();
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!r) return 1;
    rules = r->rules.size();
  }
  std::sort(us.begin(), us.end());
  std::printf("{\"rules\":%zu,\"repeats\":%d,\"reading_us_median\":%.1f,\"reading_us_min\":%.1f}\n",
              rules, repeats, us[us.size() / 2], us.front());
}
