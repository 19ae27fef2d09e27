// Reads a network namespace's nf_tables ruleset (iptables-nft's included) with its counters,
// over nfnetlink with libnftnl: what the kernel offers an observer without kprobes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "netfilter/nft_parse.hpp"
#include "sys/result.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace vxt::nf {

// One consistent reading: the ruleset did not change while it was read.
struct NftRuleset {
  uint32_t generation = 0;
  std::vector<NftRule> rules;  // every rule, and every base chain's policy (policy_rule())
};

class NftDumper {
 public:
  // A socket in the calling thread's network namespace.
  static Result<std::unique_ptr<NftDumper>> open();
  // A socket in the network namespace `netns_fd` refers to (an open /proc/PID/ns/net or
  // /run/netns/NAME); the calling thread's own namespace is left as it is.
  static Result<std::unique_ptr<NftDumper>> open_in(int netns_fd);
  ~NftDumper();
  NftDumper(const NftDumper&) = delete;
  NftDumper& operator=(const NftDumper&) = delete;

  // No nf_tables at all (nothing loaded it) is an empty ruleset. A rule the kernel cannot fit
  // in a dump message, or a ruleset that keeps changing while read, is an error, never a
  // silently shorter list.
  Result<NftRuleset> ruleset();
  Result<uint32_t> generation();

 private:
  explicit NftDumper(mnl_socket* nl);
  Result<void> dump(uint16_t type, int (*on_message)(const nlmsghdr*, void*), void* data);
  Result<void> read_ruleset(NftRuleset& out);
  mnl_socket* nl_;
  uint32_t seq_ = 0;
};

}  // namespace vxt::nf
