// Drop reason names of the running kernel, read from its BTF (enum skb_drop_reason), so
// a kernel that adds or renumbers reasons needs no table update here.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sys/result.hpp"

struct btf;

namespace vxt {

class DropReasons {
 public:
  struct Entry {
    uint32_t value;
    std::string name;  // without the SKB_DROP_REASON_ prefix
  };

  static Result<DropReasons> from_vmlinux();
  // A kernel without enum skb_drop_reason (< 5.17) gets one entry, 0 = NOT_SPECIFIED:
  // every drop is "not specified" there, and its site names the cause.
  static Result<DropReasons> from_btf(const struct btf* btf);
  static DropReasons from_entries(std::vector<Entry> entries,
                                  bool from_kernel = true);  // tests

  // False on kernels that give no drop reason (Linux < 5.17).
  bool from_kernel() const { return from_kernel_; }

  // The kernel's name, or "REASON_<n>" (subsystem reasons carry their subsystem
  // in the upper 16 bits and live in other enums).
  std::string name(uint32_t value) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  bool from_kernel_ = true;
  std::unordered_map<uint32_t, size_t> by_value_;
};

}  // namespace vxt
