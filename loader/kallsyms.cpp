#include "kallsyms.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace vxt {

Symbolizer Symbolizer::from_stream(std::istream& in) {
  Symbolizer s;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string addr, type, name;
    if (!(fields >> addr >> type >> name)) continue;
    // Text symbols only: a drop location is always code.
    if (type != "t" && type != "T") continue;
    uint64_t a = std::strtoull(addr.c_str(), nullptr, 16);
    if (a == 0) continue;  // kptr_restrict hides addresses
    s.syms_.push_back({a, std::move(name)});
  }
  std::sort(s.syms_.begin(), s.syms_.end(),
            [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
  return s;
}

Symbolizer Symbolizer::from_proc() {
  std::ifstream in("/proc/kallsyms");
  return from_stream(in);
}

std::string Symbolizer::symbolize(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                             [](uint64_t a, const Sym& s) { return a < s.addr; });
  if (addr == 0 || it == syms_.begin()) return fmt::format("0x{:x}", addr);
  --it;
  return fmt::format("{}+0x{:x}", it->name, addr - it->addr);
}

}  // namespace vxt
