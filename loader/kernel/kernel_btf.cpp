#include "kernel/kernel_btf.hpp"

#include <bpf/btf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "kernel/libbpf_log.hpp"

namespace vxt {

int tracepoint_arg_count(const struct btf* btf, const char* name) {
  std::string tname = std::string("btf_trace_") + name;
  int id = btf__find_by_name_kind(btf, tname.c_str(), BTF_KIND_TYPEDEF);
  if (id < 0) return -1;
  const struct btf_type* t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);  // pointer
  if (!t || !btf_is_ptr(t)) return -1;
  t = btf__type_by_id(btf, t->type);  // function prototype: (void *ctx, args...)
  if (!t || !btf_is_func_proto(t)) return -1;
  return btf_vlen(t) - 1;
}

std::optional<int64_t> enumerator_value(const struct btf* btf, std::string_view name) {
  for (uint32_t id = 1; id < btf__type_cnt(btf); ++id) {
    const struct btf_type* t = btf__type_by_id(btf, id);
    if (!btf_is_enum(t)) continue;
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++e)
      if (name == btf__name_by_offset(btf, e->name_off)) return e->val;
  }
  return std::nullopt;
}

Result<KernelBtf> read_kernel_btf(const std::string& path) {
  // The very file libbpf relocates the programs against; parsed here first so that a
  // truncated, corrupt or foreign file is one line of ours, not libbpf's search log.
  LibbpfLogCapture quiet;
  std::unique_ptr<struct btf, void (*)(struct btf*)> btf(btf__parse_raw(path.c_str()), btf__free);
  if (!btf) {
    int err = errno;
    auto why = quiet.log().substr(0, quiet.log().find('\n'));
    return Error{"the kernel's BTF (" + path + ") is unreadable or not valid BTF: " +
                 (why.empty() ? std::string(std::strerror(err)) : why) +
                 "; vxtrace needs the running kernel's own /sys/kernel/btf/vmlinux"};
  }
  auto reasons = DropReasons::from_btf(btf.get());
  if (!reasons) return reasons.error();
  int args = tracepoint_arg_count(btf.get(), "kfree_skb");
  if (args < 2)
    return Error{
        "the kernel's BTF has no skb:kfree_skb tracepoint (btf_trace_kfree_skb): "
        "drops cannot be observed"};
  auto proto = args == 2   ? KfreeSkbArgs::location
               : args == 3 ? KfreeSkbArgs::reason
                           : KfreeSkbArgs::reason_rx_sk;
  auto rpf = enumerator_value(btf.get(), "LINUX_MIB_IPRPFILTER");
  return KernelBtf{std::move(*reasons), proto, static_cast<uint32_t>(rpf.value_or(0))};
}

}  // namespace vxt
