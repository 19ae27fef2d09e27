// One sentence for a BPF object that did not load, from the error and what libbpf logged
// meanwhile: a verifier rejection is not a missing capability, and an old kernel's memlock
// accounting is not either.
#pragma once

#include <string>

namespace vxt {

// "Linux R rejected BPF program P: <the verifier's last word>", or for other failures
// (-EPERM with a finite RLIMIT_MEMLOCK: kernels before 5.11; too few file descriptors) what
// to do about them.
std::string load_failure(int err, const std::string& log, const std::string& release);

// The verifier's verdict: the last line of its log before the statistics it ends with.
std::string verifier_verdict(const std::string& log);

// The program libbpf names in "prog 'NAME': BPF program load failed".
std::string failed_program(const std::string& log);

}  // namespace vxt
