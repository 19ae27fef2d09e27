// Where the agent's JSON lines go: stdout (a container's log), a file (appended, for a
// node-level log shipper), or nowhere. One line per object, flushed, so a shipper tailing
// the file never sees half a line.
#pragma once

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "sys/result.hpp"

namespace vxt::agent {

class LineOutput {
 public:
  static Result<std::unique_ptr<LineOutput>> open(const std::string& where);
  void write(const nlohmann::ordered_json& j);
  uint64_t lines() const { return lines_; }
  uint64_t write_errors() const { return errors_; }

 private:
  std::unique_ptr<std::ofstream> file_;
  std::ostream* out_ = nullptr;  // null: "none"
  uint64_t lines_ = 0, errors_ = 0;
};

}  // namespace vxt::agent
