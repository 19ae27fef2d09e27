// The names a record's enums and numbers take in JSON, text and pcapng comments: the sinks call
// these, nothing before them does.
#pragma once

#include <string>
#include <string_view>

#include "decode/drop_record.hpp"

namespace vxt {

std::string_view name(Cause c);  // "checksum", "rp_filter", ...: cause_name()
std::string_view name(CtState s);
std::string_view name(NetnsSource s);
std::string_view name(TunnelSource s);
std::string_view name(RxCsum r);
std::string_view name(RuleBackend b);  // "nftables", "iptables-legacy"
// "filter/INPUT #5", "filter/FORWARD policy", "filter/INPUT rule 3 (legacy)": the rule as the
// text output and pcapng comments name it.
std::string rule_label(const RuleRecord& r);

}  // namespace vxt
