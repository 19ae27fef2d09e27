// --pcap: every streamed drop whose bytes were captured, as a pcapng packet with what vxtrace
// knows in its comment (cause, reason, location, node, netns, tunnel, rule, checksum verdict).
#pragma once

#include <memory>
#include <string>

#include "evidence/pcapng_writer.hpp"
#include "output/sink.hpp"

namespace vxt {

// The packet comment: one line, `key=value` pairs.
std::string pcap_comment(const DropRecord& d, const std::string& node);
// The capture point, one pcapng interface each: "dev@netns:N".
std::string pcap_interface(const DropRecord& d);

class PcapSink : public Sink {
 public:
  PcapSink(std::unique_ptr<PcapngWriter> w, std::string node)
      : w_(std::move(w)), node_(std::move(node)) {}
  void start(const StartInfo& /*info*/) override {}
  void drop(const DropRecord& d) override;
  void summary(const Summary& /*summary*/) override { failed_ = failed_ || !w_->flush(); }
  bool failed() const { return failed_; }
  int error() const { return w_->error(); }
  uint64_t written() const { return w_->written(); }

 private:
  std::unique_ptr<PcapngWriter> w_;
  std::string node_;
  bool failed_ = false;
};

}  // namespace vxt
