// Kernel text address -> "symbol+0xoff", from /proc/kallsyms.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace vxt {

class Symbolizer {
 public:
  static Symbolizer from_stream(std::istream& in);
  static Symbolizer from_proc();  // empty (hex only) when unreadable or hidden

  std::string symbolize(uint64_t addr) const;
  size_t size() const { return syms_.size(); }

 private:
  struct Sym {
    uint64_t addr;
    std::string name;
  };
  std::vector<Sym> syms_;
};

}  // namespace vxt
