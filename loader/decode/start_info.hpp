// What a run attached and where, as the start line shows it: the Tracer fills it in, every
// sink prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vxt {

struct AttachedHook {
  std::string ifname;
  std::string hook;      // "tcx" | "clsact" | "tp_btf"
  std::string role;      // "underlay" | "overlay" | "drops"
  uint32_t prog_id = 0;  // `bpftool prog show id N`; gone once vxtrace exits
};

struct StartInfo {
  std::string version, kernel, node;
  std::vector<AttachedHook> attached;
};

}  // namespace vxt
