#include "evidence/pcapng_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace vxt {
namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterface = 1, kEnhancedPacket = 6;
constexpr uint16_t kLinkRaw = 101;  // LINKTYPE_RAW: the packet starts with its IP header
constexpr uint16_t kOptEnd = 0, kOptComment = 1, kIfName = 2, kIfTsResol = 9, kShbUserAppl = 4;

void u16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }
void u32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
void pad4(std::string& b) { b.append((4 - b.size() % 4) % 4, '\0'); }
constexpr uint64_t padded(uint64_t n) { return (n + 3) & ~uint64_t{3}; }
constexpr size_t kMaxComment = 0xFFFF;  // an option's length is 16 bits

void option(std::string& b, uint16_t code, std::string_view value) {
  u16(b, code);
  u16(b, static_cast<uint16_t>(value.size()));
  b.append(value);
  pad4(b);
}

// type, total length, body, total length again (host byte order; the magic says which).
std::string block(uint32_t type, const std::string& body) {
  std::string b;
  auto total = static_cast<uint32_t>(12 + body.size());
  u32(b, type);
  u32(b, total);
  b += body;
  u32(b, total);
  return b;
}

}  // namespace

Result<std::unique_ptr<PcapngWriter>> PcapngWriter::open(const std::string& path, uint32_t snaplen,
                                                         PcapBuffering buffering) {
  bool stdout_ = path == "-";
  FILE* f = stdout_ ? stdout : std::fopen(path.c_str(), "wb");
  if (!f) return errno_error("--pcap " + path, errno);
  if (buffering == PcapBuffering::unbuffered) std::setvbuf(f, nullptr, _IONBF, 0);
  std::unique_ptr<PcapngWriter> w(new PcapngWriter(f, !stdout_, snaplen));
  std::string shb;
  u32(shb, 0x1A2B3C4D);  // byte-order magic
  u16(shb, 1);
  u16(shb, 0);
  u32(shb, 0xFFFFFFFF);  // section length unknown
  u32(shb, 0xFFFFFFFF);
  option(shb, kShbUserAppl, "vxtrace " VXTRACE_VERSION);
  u32(shb, kOptEnd);
  if (!w->put(block(kSectionHeader, shb)) || !w->flush())
    return errno_error("--pcap " + path, errno);
  return w;
}

PcapngWriter::~PcapngWriter() {
  std::fflush(f_);
  if (owned_) std::fclose(f_);
}

bool PcapngWriter::put(const std::string& block) {
  if (!ok_) return false;
  errno = 0;
  if (std::fwrite(block.data(), 1, block.size(), f_) != block.size()) {
    ok_ = false;
    err_ = errno ? errno : EIO;
    return false;
  }
  bytes_ += block.size();
  return true;
}

bool PcapngWriter::flush() {
  if (ok_ && std::fflush(f_) != 0) {
    ok_ = false;
    err_ = errno ? errno : EIO;
  }
  return ok_;
}

// Layouts as written by interface_id() and write(): block header and trailer 12 bytes, fixed
// fields, options padded to 4 bytes, the end-of-options marker 4.
uint64_t PcapngWriter::packet_size(const std::string& interface, size_t packet_len,
                                   size_t comment_len) const {
  uint64_t size = 12 + 20 + padded(std::min<size_t>(packet_len, snaplen_)) + 4;
  if (comment_len > 0) size += 4 + padded(std::min(comment_len, kMaxComment));
  if (!interfaces_.contains(interface)) size += 12 + 8 + 4 + padded(interface.size()) + 8 + 4;
  return size;
}

// The interface's id in this file; its description block is appended to `blocks` when new.
uint32_t PcapngWriter::interface_id(const std::string& name, std::string& blocks) {
  auto it = interfaces_.find(name);
  if (it != interfaces_.end()) return it->second;
  std::string idb;
  u16(idb, kLinkRaw);
  u16(idb, 0);
  u32(idb, snaplen_);
  option(idb, kIfName, name);
  option(idb, kIfTsResol, std::string_view("\x09", 1));  // 10^-9 s
  u32(idb, kOptEnd);
  blocks += block(kInterface, idb);
  auto id = static_cast<uint32_t>(interfaces_.size());
  interfaces_.emplace(name, id);
  return id;
}

bool PcapngWriter::write(const std::string& interface, int64_t ts_unix_ns,
                         std::span<const uint8_t> packet, uint32_t orig_len,
                         const std::string& comment) {
  std::string blocks;
  uint32_t id = interface_id(interface, blocks);
  auto cap = static_cast<uint32_t>(std::min<size_t>(packet.size(), snaplen_));
  auto ts = static_cast<uint64_t>(ts_unix_ns < 0 ? 0 : ts_unix_ns);
  std::string epb;
  u32(epb, id);
  u32(epb, static_cast<uint32_t>(ts >> 32));
  u32(epb, static_cast<uint32_t>(ts));
  u32(epb, cap);
  u32(epb, std::max(orig_len, cap));
  epb.append(reinterpret_cast<const char*>(packet.data()), cap);
  pad4(epb);
  if (!comment.empty()) option(epb, kOptComment, comment.substr(0, kMaxComment));
  u32(epb, kOptEnd);
  blocks += block(kEnhancedPacket, epb);
  if (put(blocks)) ++written_;  // one fwrite: one write(2) when unbuffered
  return ok_;
}

}  // namespace vxt
