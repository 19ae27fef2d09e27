#include "kernel/drop_reasons.hpp"

#include <bpf/btf.h>

#include <cerrno>
#include <string_view>

namespace vxt {
namespace {
constexpr std::string_view kPrefix = "SKB_DROP_REASON_";
}

Result<DropReasons> DropReasons::from_vmlinux() {
  struct btf* btf = btf__load_vmlinux_btf();
  if (!btf) return errno_error("cannot read the kernel's BTF (/sys/kernel/btf/vmlinux)", errno);
  auto r = from_btf(btf);
  btf__free(btf);
  return r;
}

Result<DropReasons> DropReasons::from_btf(const struct btf* btf) {
  int id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
  if (id < 0) return from_entries({{0, "NOT_SPECIFIED"}}, false);
  const struct btf_type* t = btf__type_by_id(btf, id);
  const struct btf_enum* e = btf_enum(t);
  std::vector<Entry> entries;
  for (int i = 0; i < btf_vlen(t); ++i, ++e) {
    std::string_view name = btf__name_by_offset(btf, e->name_off);
    if (name.starts_with(kPrefix)) name.remove_prefix(kPrefix.size());
    if (name == "MAX" || name == "SUBSYS_MASK") continue;  // bounds, not reasons
    entries.push_back({static_cast<uint32_t>(e->val), std::string(name)});
  }
  return from_entries(std::move(entries));
}

DropReasons DropReasons::from_entries(std::vector<Entry> entries, bool from_kernel) {
  DropReasons r;
  r.entries_ = std::move(entries);
  r.from_kernel_ = from_kernel;
  for (size_t i = 0; i < r.entries_.size(); ++i) r.by_value_.emplace(r.entries_[i].value, i);
  return r;
}

std::string DropReasons::name(uint32_t value) const {
  auto it = by_value_.find(value);
  if (it != by_value_.end()) return entries_[it->second].name;
  return "REASON_" + std::to_string(value);
}

}  // namespace vxt
