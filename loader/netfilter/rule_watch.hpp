// nf_tables' ruleset notifications (NFNLGRP_NFTABLES) in vxtrace's namespace, reduced to what
// keeps per-rule totals exact: every deleted rule with its counter's final value. A rule
// replaced in place (iptables -R, Felix's edits) is deleted and re-created under the same
// handle with its counter at zero; without its final count, what it dropped would vanish.
#pragma once

#include <memory>
#include <vector>

#include "netfilter/nft_rule.hpp"
#include "sys/result.hpp"

struct mnl_socket;

namespace vxt::nf {

class RuleWatch {
 public:
  static Result<std::unique_ptr<RuleWatch>> open();
  ~RuleWatch();
  RuleWatch(const RuleWatch&) = delete;
  RuleWatch& operator=(const RuleWatch&) = delete;

  // Rules deleted since the last call, oldest first. `lost`: the kernel dropped notifications
  // for lack of buffer (then counters going down are the only sign of a replacement).
  std::vector<NftRule> deleted(bool& lost);

 private:
  explicit RuleWatch(mnl_socket* nl) : nl_(nl) {}
  mnl_socket* nl_;
};

}  // namespace vxt::nf
