#include "kernel/kallsyms.hpp"

#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <string_view>
#include <system_error>

namespace vxt {
namespace {

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Next whitespace-separated field, as `istream >> std::string` reads it.
std::string_view next_field(std::string_view& rest) {
  const char* p = rest.data();
  const char* end = p + rest.size();
  while (p < end && is_space(*p)) ++p;
  const char* b = p;
  while (p < end && !is_space(*p)) ++p;
  rest = std::string_view(p, static_cast<size_t>(end - p));
  return std::string_view(b, static_cast<size_t>(p - b));
}

}  // namespace

// Lines are "address type name", plus "\t[module]" for module symbols (not kept). Read in
// chunks so the ~5 MB of text is never held whole.
Symbolizer::Table Symbolizer::build(std::istream& in) {
  Table t;
  auto add = [&t](std::string_view line) {
    auto addr = next_field(line), type = next_field(line), name = next_field(line);
    // Text symbols only: a drop location is always code.
    if (name.empty() || (type != "t" && type != "T")) return;
    uint64_t a = 0;
    const char* end = addr.data() + addr.size();
    auto r = std::from_chars(addr.data(), end, a, 16);
    if (r.ec != std::errc{} || r.ptr != end || a == 0) return;  // 0: kptr_restrict
    // Aliases (_stext, _text, ...) follow each other: keep the first, as the kernel's %pS does.
    if (!t.addrs.empty() && t.addrs.back() == a) return;
    if (t.names.size() + name.size() >= std::numeric_limits<uint32_t>::max()) return;
    t.addrs.push_back(a);
    t.name_offs.push_back(static_cast<uint32_t>(t.names.size()));
    t.names.append(name);
    t.names.push_back('\0');
  };

  std::vector<char> buf(size_t{64} * 1024);
  size_t have = 0;
  for (;;) {
    if (have == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
    in.read(buf.data() + have, static_cast<std::streamsize>(buf.size() - have));
    auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    have += n;
    std::string_view data(buf.data(), have);
    size_t start = 0;
    for (size_t nl; (nl = data.find('\n', start)) != std::string_view::npos; start = nl + 1)
      add(data.substr(start, nl - start));
    std::memmove(buf.data(), buf.data() + start, have - start);
    have -= start;
  }
  add(std::string_view(buf.data(), have));  // a last line without '\n'

  // The kernel's own symbols come sorted; modules' need not be.
  auto& addrs = t.addrs;
  auto& offs = t.name_offs;
  if (!std::is_sorted(addrs.begin(), addrs.end())) {
    std::vector<uint32_t> order(addrs.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return addrs[a] != addrs[b] ? addrs[a] < addrs[b] : a < b;  // first alias first
    });
    std::vector<uint64_t> sorted_addrs(order.size());
    std::vector<uint32_t> sorted_offs(order.size());
    for (size_t i = 0; i < order.size(); ++i) {
      sorted_addrs[i] = addrs[order[i]];
      sorted_offs[i] = offs[order[i]];
    }
    addrs.swap(sorted_addrs);
    offs.swap(sorted_offs);
  }
  size_t w = 0;
  for (size_t r = 0; r < addrs.size(); ++r) {
    if (w > 0 && addrs[r] == addrs[w - 1]) continue;  // aliases that were not adjacent
    addrs[w] = addrs[r];
    offs[w] = offs[r];
    ++w;
  }
  addrs.resize(w);
  offs.resize(w);
  addrs.shrink_to_fit();
  offs.shrink_to_fit();
  t.names.shrink_to_fit();
#ifdef __GLIBC__
  // The read buffer and the arrays' growth leave ~1 MiB free but resident: give it back.
  malloc_trim(0);
#endif
  return t;
}

Symbolizer Symbolizer::ready(Table t) {
  std::promise<Table> p;
  p.set_value(std::move(t));
  return Symbolizer(p.get_future().share());
}

Symbolizer Symbolizer::async(std::function<Table()> make, OnReady on_ready) {
  auto task = [make = std::move(make), on_ready = std::move(on_ready)] {
    Table t;
    try {
      t = make();
    } catch (const std::exception&) {
      t = Table{};  // e.g. bad_alloc: hex only, rather than throwing from every symbolize()
    }
    if (on_ready) on_ready(t.addrs.size());
    return t;
  };
  try {
    return Symbolizer(std::async(std::launch::async, task).share());
  } catch (const std::system_error&) {  // no thread to be had: build here
    return ready(task());
  }
}

Symbolizer Symbolizer::from_stream(std::istream& in) { return ready(build(in)); }

Symbolizer Symbolizer::from_proc() {
  std::ifstream in("/proc/kallsyms");
  return from_stream(in);
}

Symbolizer Symbolizer::from_stream_async(std::unique_ptr<std::istream> in, OnReady on_ready) {
  std::shared_ptr<std::istream> s(std::move(in));  // std::function needs a copyable closure
  return async([s] { return build(*s); }, std::move(on_ready));
}

Symbolizer Symbolizer::from_proc_async(OnReady on_ready) {
  return async(
      [] {
        std::ifstream in("/proc/kallsyms");
        return build(in);
      },
      std::move(on_ready));
}

const Symbolizer::Table& Symbolizer::table() const {
  static const Table empty;
  return table_.valid() ? table_.get() : empty;
}

std::string Symbolizer::symbolize(uint64_t addr) const {
  const Table& t = table();
  auto it = std::upper_bound(t.addrs.begin(), t.addrs.end(), addr);
  if (addr == 0 || it == t.addrs.begin()) return fmt::format("0x{:x}", addr);
  size_t i = static_cast<size_t>(it - t.addrs.begin()) - 1;
  // No function is this long: an address between areas (a JIT'd BPF program, a module
  // without symbols) has no name, rather than the last symbol before a gap.
  constexpr uint64_t kMaxOffset = 1 << 20;
  if (addr - t.addrs[i] >= kMaxOffset) return fmt::format("0x{:x}", addr);
  return fmt::format("{}+0x{:x}", t.names.data() + t.name_offs[i], addr - t.addrs[i]);
}

void Symbolizer::for_each_symbol(
    const std::function<void(std::string_view, uint64_t, uint64_t)>& f) const {
  const Table& t = table();
  for (size_t i = 0; i + 1 < t.addrs.size(); ++i)
    f(t.names.data() + t.name_offs[i], t.addrs[i], t.addrs[i + 1]);
}

uint64_t kallsyms_address(std::string_view name) {
  std::ifstream in("/proc/kallsyms");
  std::string line;
  while (std::getline(in, line)) {
    std::string_view rest(line);
    auto addr = next_field(rest);
    next_field(rest);  // type
    if (next_field(rest) != name) continue;
    uint64_t a = 0;
    std::from_chars(addr.data(), addr.data() + addr.size(), a, 16);
    return a;
  }
  return 0;
}

}  // namespace vxt
