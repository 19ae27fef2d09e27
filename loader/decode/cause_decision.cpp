#include "decode/cause_decision.hpp"

namespace vxt {
namespace {

bool invalid_by_rule(const DropRecord& r) { return r.rule && r.rule->ct_invalid; }

}  // namespace

Cause final_cause(const DropRecord& r) {
  return r.cause == Cause::netfilter && invalid_by_rule(r) ? Cause::conntrack : r.cause;
}

Cause kernel_cause(const DropRecord& r) {
  // Only netfilter drops are given a rule, so a conntrack drop with an INVALID rule was one.
  return r.cause == Cause::conntrack && invalid_by_rule(r) ? Cause::netfilter : r.cause;
}

CauseMask bpf_stream_mask(CauseMask selected) {
  if (selected & cause_bit(Cause::conntrack)) selected |= cause_bit(Cause::netfilter);
  return selected;
}

bool wanted(const DropRecord& r, CauseMask selected) {
  return (selected & cause_bit(final_cause(r))) != 0;
}

}  // namespace vxt
