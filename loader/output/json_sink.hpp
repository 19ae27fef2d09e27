// JSON lines, schema v1 (README "JSON schema v1"): one object per line. Drop lines wait in a
// buffer until flush() (after every poll: one write for a burst), start and summary lines are
// written and flushed at once, after what waits.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "output/sink.hpp"

namespace vxt {

nlohmann::ordered_json to_json(const StartInfo& info);
nlohmann::ordered_json to_json(const DropRecord& drop, const std::string& node);
nlohmann::ordered_json to_json(const Summary& summary);
nlohmann::ordered_json to_json(const RuleRecord& rule);
nlohmann::ordered_json to_json(const CsumVerdict& csum);

class JsonSink : public Sink {
 public:
  JsonSink(std::ostream& out, std::string node) : out_(out), node_(std::move(node)) {}
  ~JsonSink() override;
  void start(const StartInfo& info) override;
  // Writes exactly to_json(drop, node).dump(), without building the JSON tree when every
  // string is plain printable ASCII (else through nlohmann, escaping and all).
  void drop(const DropRecord& drop) override;
  void summary(const Summary& summary) override;
  void flush() override;
  uint64_t fast_lines() const { return fast_lines_; }  // drops written without nlohmann

 private:
  void write(const nlohmann::ordered_json& j);
  void emit_line(std::string_view line);  // line ends in '\n'; waits for flush()
  // The line, in line_; nullopt when a string is not plain ASCII (nlohmann escapes it).
  std::optional<std::string_view> format_drop(const DropRecord& d);
  std::string_view ts_prefix(int64_t sec);

  std::ostream& out_;
  std::string node_;
  std::string line_;     // buffer reused for every drop line
  std::string pending_;  // drop lines not yet handed to out_
  int64_t ts_sec_ = -1;  // second whose "YYYY-MM-DDTHH:MM:SS." prefix is cached
  std::string ts_prefix_;
  uint64_t fast_lines_ = 0;
};

}  // namespace vxt
