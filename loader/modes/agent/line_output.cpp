#include "modes/agent/line_output.hpp"

#include <cerrno>
#include <iostream>

namespace vxt::agent {

Result<std::unique_ptr<LineOutput>> LineOutput::open(const std::string& where) {
  auto o = std::make_unique<LineOutput>();
  if (where == "-") {
    o->out_ = &std::cout;
  } else if (where != "none") {
    o->file_ = std::make_unique<std::ofstream>(where, std::ios::app);
    if (!*o->file_) return errno_error("--events: cannot open " + where, errno);
    o->out_ = o->file_.get();
  }
  return o;
}

void LineOutput::write(const nlohmann::ordered_json& j) {
  if (!out_) return;
  *out_ << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_->flush();
  if (!*out_) {
    // A full disk or a closed pipe: count it, keep running (metrics still tell the truth).
    ++errors_;
    out_->clear();
    return;
  }
  ++lines_;
}

}  // namespace vxt::agent
