// Formatting of addresses, protocols and timestamps shared by the sinks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vxt {

// Dotted quad, as inet_ntop writes it, without its sprintf per octet: format_ipv4() writes at
// most kIpv4Max bytes (no NUL) and returns the end.
constexpr size_t kIpv4Max = 15;
char* format_ipv4(uint32_t addr_be, char* out);
std::string ipv4_string(uint32_t addr_be);
std::string_view proto_name(uint8_t proto);   // "tcp", "udp", "icmp" or "ip:<n>"
std::string rfc3339_ns(int64_t unix_ns);      // 2026-11-22T01:02:03.123456789Z
std::string tcp_flags_string(uint8_t flags);  // "SF" style, as tcpdump prints them

// Names from the kernel or the command line are bytes (a device may be named "\xff\xfe" or
// carry an ESC): printable ASCII stays, a backslash doubles, anything else becomes \xHH, so
// every sink gets valid UTF-8 with no control characters and nothing is lost.
std::string escape_bytes(std::string_view bytes);

}  // namespace vxt
