#include "decode/net_format.hpp"

#include <fmt/format.h>

#include <ctime>

namespace vxt {

char* format_ipv4(uint32_t addr_be, char* out) {
  const auto* b = reinterpret_cast<const unsigned char*>(&addr_be);
  for (int i = 0; i < 4; ++i) {
    unsigned v = b[i];
    if (v >= 100) *out++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *out++ = static_cast<char>('0' + v / 10 % 10);
    *out++ = static_cast<char>('0' + v % 10);
    if (i < 3) *out++ = '.';
  }
  return out;
}

std::string ipv4_string(uint32_t addr_be) {
  char buf[kIpv4Max];
  return {buf, format_ipv4(addr_be, buf)};
}

std::string_view proto_name(uint8_t proto) {
  switch (proto) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    default: {
      static thread_local std::string other;
      other = fmt::format("ip:{}", proto);
      return other;
    }
  }
}

std::string rfc3339_ns(int64_t unix_ns) {
  time_t secs = unix_ns / 1000000000;
  struct tm tm {};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ns % 1000000000);
}

std::string tcp_flags_string(uint8_t flags) {
  static constexpr char kNames[] = "FSRPAUEC";
  std::string out;
  for (int i = 0; i < 8; ++i)
    if (flags & (1u << i)) out += kNames[i];
  return out;
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c == '\\')
      out += "\\\\";
    else if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

}  // namespace vxt
