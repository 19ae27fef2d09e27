// Dotted-quad to the network-order u32 the BPF ABI carries.
#pragma once

#include <arpa/inet.h>

#include <cstdint>

namespace vxt::test {

inline uint32_t ip(const char* s) {
  in_addr a{};
  inet_pton(AF_INET, s, &a);
  return a.s_addr;
}

}  // namespace vxt::test
