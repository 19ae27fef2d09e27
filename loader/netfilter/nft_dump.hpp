// Reads a network namespace's nftables rules (iptables-nft's included) with their counters,
// over nfnetlink with libnftnl: what the kernel offers an observer without kprobes.
#pragma once

#include <memory>
#include <vector>

#include "netfilter/nft_rule.hpp"
#include "sys/result.hpp"

struct mnl_socket;

namespace vxt::nf {

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

  // Every rule of every family. No nf_tables at all (nothing loaded it) is an empty list.
  Result<std::vector<NftRule>> rules();

 private:
  explicit NftDumper(mnl_socket* nl);
  mnl_socket* nl_;
  uint32_t seq_ = 0;
};

}  // namespace vxt::nf
