// What reading legacy iptables costs: one legacy_rules() (loader/netfilter/xt_legacy_dump.hpp)
// over N Calico-style rules, the same rules run.py gives nft_read_bench, loaded with
// iptables-legacy-restore. Each size gets a fresh anonymous namespace (the process unshares
// its own, so nothing outlives it); prints one JSON line per size.
//   vxtrace_xt_legacy_read_bench [REPEATS [N...]]   (default: 30 100 2000 20000)
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fresh_netns.hpp"
#include "netfilter/xt_legacy_dump.hpp"

namespace {

std::string ruleset(int n) {
  std::string s = "*filter\n";
  for (int i = 0; i < n; ++i)
    s += "-A FORWARD -p udp --dport " + std::to_string(1000 + i) +
         " -m comment --comment \"cali:rule" + std::to_string(i) +
         "\" -m conntrack --ctstate INVALID -j DROP\n";
  return s + "COMMIT\n";
}

// Fresh pages cost a reading most of its time on a VM: how many it touched says why two runs
// of the same size differ (glibc gives freed blocks back, or keeps them, by its own thresholds).
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 30;
  std::vector<int> sizes;
  for (int i = 2; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {100, 2000, 20000};
  for (int n : sizes) {
    // Single-threaded: the whole process moves, and the previous namespace goes away.
    if (unshare(CLONE_NEWNET) != 0) {
      std::perror("xt_legacy_read_bench: unshare");
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    if (vxt::test::run_command({"iptables-legacy-restore", "-w", "10"}, ruleset(n)) != 0) {
      std::fprintf(stderr, "xt_legacy_read_bench: iptables-legacy-restore failed\n");
      return 1;
    }
    double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> us;
    size_t rules = 0;
    long faults = minor_faults();
    for (int i = 0; i < repeats; ++i) {
      t0 = std::chrono::steady_clock::now();
      auto r = vxt::nf::legacy_rules();
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      if (!r) {
        std::fprintf(stderr, "xt_legacy_read_bench: %s\n", r.error().what().c_str());
        return 1;
      }
      rules = r->size();
    }
    faults = minor_faults() - faults;
    std::sort(us.begin(), us.end());
    std::printf(
        "{\"loaded\":%d,\"rules\":%zu,\"repeats\":%d,\"reading_us_median\":%.1f,"
        "\"reading_us_min\":%.1f,\"reading_us_max\":%.1f,\"page_faults_per_reading\":%ld,"
        "\"restore_ms\":%.1f}\n",
        n, rules, repeats, us[us.size() / 2], us.front(), us.back(), faults / repeats, load_ms);
    std::fflush(stdout);
  }
}
