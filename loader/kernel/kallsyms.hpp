// Kernel text address -> "symbol+0xoff", from /proc/kallsyms.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vxt {

// Immutable once built, so symbolize() is safe from any thread. Copies share one table.
class Symbolizer {
 public:
  // Called once, on the thread that built the table, with size() (0: unreadable or hidden).
  using OnReady = std::function<void(size_t symbols)>;

  Symbolizer() = default;  // no symbols: hex only
  static Symbolizer from_stream(std::istream& in);
  static Symbolizer from_proc();  // empty (hex only) when unreadable or hidden
  // Reading /proc/kallsyms takes tens of ms of kernel time: these build the table on a
  // background thread and return at once; symbolize() and size() wait only when called
  // before it is done. The last copy's destructor waits for the thread.
  static Symbolizer from_proc_async(OnReady on_ready = {});
  static Symbolizer from_stream_async(std::unique_ptr<std::istream> in, OnReady on_ready = {});

  std::string symbolize(uint64_t addr) const;
  size_t size() const { return table().addrs.size(); }
  // Calls f(name, start, end) for every text symbol, in address order; a symbol ends where
  // the next one starts (the last one has no end and is skipped).
  void for_each_symbol(
      const std::function<void(std::string_view name, uint64_t start, uint64_t end)>& f) const;

 private:
  // ~12 bytes per symbol plus its name: per-symbol std::strings cost twice that.
  struct Table {
    std::vector<uint64_t> addrs;      // sorted, unique
    std::vector<uint32_t> name_offs;  // into names, parallel to addrs
    std::string names;                // NUL-terminated names
  };
  explicit Symbolizer(std::shared_future<Table> t) : table_(std::move(t)) {}
  static Table build(std::istream& in);
  static Symbolizer ready(Table t);
  static Symbolizer async(std::function<Table()> make, OnReady on_ready);
  const Table& table() const;

  std::shared_future<Table> table_;
};

// The address of one symbol of any type (data too), reading /proc/kallsyms only up to it;
// 0 when absent or hidden (kptr_restrict).
uint64_t kallsyms_address(std::string_view name);

}  // namespace vxt
