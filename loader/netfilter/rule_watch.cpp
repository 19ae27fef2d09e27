#include "netfilter/rule_watch.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netfilter/nfnl_group.hpp"
#include "netfilter/nft_parse.hpp"

namespace vxt::nf {
namespace {

constexpr int kReceiveBuffer = 4 << 20;  // a whole ruleset flushed at once fits

int on_message(const nlmsghdr* nlh, void* data) {
  auto& out = *static_cast<std::vector<RuleWatch::Change>*>(data);
  int type = nlh->nlmsg_type & 0xFF;
  if (type == NFT_MSG_DELRULE || type == NFT_MSG_NEWRULE) {
    if (auto r = parse_rule(nlh))
      out.push_back(
          {type == NFT_MSG_DELRULE ? RuleWatch::Change::deleted : RuleWatch::Change::created,
           std::move(*r)});
  } else if (type == NFT_MSG_DELCHAIN || type == NFT_MSG_NEWCHAIN) {
    // A base chain's policy, as the pseudo-rule readings make of it (a regular chain has none).
    if (auto c = parse_chain(nlh))
      if (auto p = policy_rule(*c))
        out.push_back(
            {type == NFT_MSG_DELCHAIN ? RuleWatch::Change::deleted : RuleWatch::Change::policy,
             std::move(*p)});
  }
  return MNL_CB_OK;
}

}  // namespace

Result<std::unique_ptr<RuleWatch>> RuleWatch::open() {
  auto nl = open_group(NFNLGRP_NFTABLES, kReceiveBuffer, "nftables' ruleset group");
  if (!nl) return nl.error();
  return std::unique_ptr<RuleWatch>(new RuleWatch(*nl));
}

RuleWatch::~RuleWatch() { mnl_socket_close(nl_); }

std::vector<RuleWatch::Change> RuleWatch::changes(bool& lost) {
  std::vector<Change> out;
  read_queued(nl_, 32768, on_message, &out, lost);  // rules as large as a dump's
  return out;
}

}  // namespace vxt::nf
