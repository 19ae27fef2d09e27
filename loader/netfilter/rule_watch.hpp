// nf_tables' ruleset notifications (NFNLGRP_NFTABLES) in vxtrace's namespace, reduced to what
// keeps rule names and per-rule totals exact: every rule created, with what it matches, and
// every rule deleted, with its counter's final value. A rule
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

  struct Change {
    // A rule replaced: deleted, then created. A base chain created or changed: `policy`, its
    // policy as a pseudo-rule (handle 0) with the chain's counter then; deleted: `deleted`.
    enum Kind { created, deleted, policy } kind;
    NftRule rule;
  };
  // Rules created and deleted since the last call, in order. `lost`: the kernel dropped
  // notifications for lack of buffer (then counters going down are the only sign of a
  // replacement, and readings the only source of what rules are).
  std::vector<Change> changes(bool& lost);

 private:
  explicit RuleWatch(mnl_socket* nl) : nl_(nl) {}
  mnl_socket* nl_;
};

}  // namespace vxt::nf
