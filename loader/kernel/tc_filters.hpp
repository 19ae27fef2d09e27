// The filters on a device's clsact ingress, as rtnetlink lists them (an RTM_GETTFILTER dump,
// what `tc filter show dev X ingress` does). libbpf's bpf_tc_query answers only for a known
// handle and priority; finding vxtrace's stale filters needs the whole list.
#pragma once

#include <linux/netlink.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sys/result.hpp"

namespace vxt {

using BpfTag = std::array<uint8_t, 8>;  // BPF_TAG_SIZE: a hash of the program's instructions

struct TcFilter {
  uint32_t handle = 0;
  uint32_t priority = 0;
  uint16_t protocol = 0;  // host byte order; libbpf attaches with ETH_P_ALL
  uint32_t chain = 0;
  std::string kind;      // "bpf" for cls_bpf
  uint32_t prog_id = 0;  // TCA_BPF_ID; 0 when not a BPF filter
  BpfTag prog_tag{};     // TCA_BPF_TAG
  std::string name;      // TCA_BPF_NAME, whatever the attaching tool chose (libbpf: "name:[id]")
};

// One RTM_NEWTFILTER message; false when it is not one (e.g. an error or another type).
bool parse_tc_filter(const nlmsghdr* nlh, TcFilter& out);

// Every filter on `ifindex`'s clsact ingress; none when the device has no clsact qdisc.
Result<std::vector<TcFilter>> list_ingress_filters(int ifindex);

}  // namespace vxt
