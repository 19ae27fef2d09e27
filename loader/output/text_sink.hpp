// Human output for an incident session: one line per drop, a table at the end.
#pragma once

#include <ostream>

#include "output/sink.hpp"

namespace vxt {

std::string format_drop_line(const DropRecord& d);

class TextSink : public Sink {
 public:
  explicit TextSink(std::ostream& out) : out_(out) {}
  void start(const StartInfo& info) override;
  void drop(const DropRecord& drop) override;
  void summary(const Summary& summary) override;

 private:
  std::ostream& out_;
};

}  // namespace vxt
