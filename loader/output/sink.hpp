// Where events go. One implementation per output format, each writing to a
// std::ostream so tests read a std::stringstream.
#pragma once

#include "decode/drop_record.hpp"
#include "decode/start_info.hpp"
#include "decode/summary.hpp"

namespace vxt {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void start(const StartInfo& info) = 0;
  virtual void drop(const DropRecord& drop) = 0;
  virtual void summary(const Summary& summary) = 0;
  // Hands on what drop() buffered. The run loop calls it after every poll, so a burst of
  // events costs one write, and every line is out before vxtrace waits again.
  virtual void flush() {}
};

}  // namespace vxt
