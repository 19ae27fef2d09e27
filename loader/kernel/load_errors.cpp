#include "kernel/load_errors.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "sys/result.hpp"

namespace vxt {

std::string verifier_verdict(const std::string& log) {
  std::string verdict;
  size_t start = 0;
  for (size_t nl; (nl = log.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(log.data() + start, nl - start);
    if (line.starts_with("-- END PROG LOAD LOG")) break;
    if (line.empty() || line.starts_with("processed ") || line.starts_with("verification time") ||
        line.starts_with("stack depth") || line.starts_with("libbpf:") ||
        line.starts_with("-- BEGIN"))
      continue;
    verdict = line;
  }
  return verdict;
}

std::string failed_program(const std::string& log) {
  auto at = log.find("BPF program load failed");
  if (at == std::string::npos) return {};
  auto open = log.rfind("prog '", at);
  if (open == std::string::npos) return {};
  open += 6;
  auto close = log.find('\'', open);
  return close == std::string::npos ? std::string{} : log.substr(open, close - open);
}

std::string load_failure(int err, const std::string& log, const std::string& release) {
  if (err == -EMFILE || err == -ENFILE) {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    return "too many open files loading the BPF programs (RLIMIT_NOFILE " +
           std::to_string(lim.rlim_cur) + "): raise it, e.g. ulimit -n 1024";
  }
  // The verifier says no with EACCES or EINVAL (E2BIG: too large); anything else is not its
  // verdict, whatever program was loading.
  bool verifier = err == -EACCES || err == -EINVAL || err == -E2BIG;
  if (auto prog = failed_program(log); verifier && !prog.empty()) {
    std::string why = verifier_verdict(log);
    return "Linux " + release + " rejected BPF program " + prog + (why.empty() ? "" : ": " + why) +
           " (--log-level debug shows the verifier's log)";
  }
  if (err == -EPERM) {
    rlimit lim{};
    getrlimit(RLIMIT_MEMLOCK, &lim);
    if (lim.rlim_cur != RLIM_INFINITY)
      return std::string("cannot create the BPF maps: ") + std::strerror(-err) +
             "; kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK, here " +
             std::to_string(lim.rlim_cur / 1024) +
             " KiB: raise it (ulimit -l unlimited, LimitMEMLOCK=infinity) or grant "
             "CAP_SYS_RESOURCE";
  }
  return errno_error("cannot load the BPF programs into Linux " + release, err).what();
}

}  // namespace vxt
