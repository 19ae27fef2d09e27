// Where events go. One implementation per output format, each writing to a
// std::ostream so tests read a std::stringstream.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drop_record.hpp"
#include "summary.hpp"

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

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void start(const StartInfo& info) = 0;
  virtual void drop(const DropRecord& drop) = 0;
  virtual void summary(const Summary& summary) = 0;
  // Hands on what drop() buffered. The run loop calls it after every poll, so a burst of
  // events costs one write, and every line is out before vxtrace waits again.
  virtual void flush() {}
};

}  // namespace vxt
