// Calico's iptables vocabulary in words: which pod a chain guards, which policy it is, and
// what its drop rules mean. Pure string work on chain names and comments.
#pragma once

#include <string>

#include "decode/rule_record.hpp"

namespace vxt::nf {

// What the rule's drop means, e.g. "NetworkPolicy: no policy allows traffic to the pod behind
// cali1234abcd"; "" for a rule that is not Calico's.
std::string calico_meaning(const RuleRecord& rule);

// The command that shows the rule with its counter and handle.
std::string show_rule_command(const RuleRecord& rule);

}  // namespace vxt::nf
