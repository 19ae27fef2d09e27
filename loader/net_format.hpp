// Formatting of addresses, protocols and timestamps shared by the sinks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vxt {

std::string ipv4_string(uint32_t addr_be);
std::string_view proto_name(uint8_t proto);   // "tcp", "udp", "icmp" or "ip:<n>"
std::string rfc3339_ns(int64_t unix_ns);      // 2026-11-22T01:02:03.123456789Z
std::string tcp_flags_string(uint8_t flags);  // "SF" style, as tcpdump prints them

}  // namespace vxt
