// JSON lines, schema v1 (README "JSON schema v1"): one object per line, flushed, so a
// pipeline or a test sees each line as soon as it is written.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "sink.hpp"

namespace vxt {

nlohmann::ordered_json to_json(const StartInfo& info);
nlohmann::ordered_json to_json(const DropRecord& drop, const std::string& node);
nlohmann::ordered_json to_json(const Summary& summary);

class JsonSink : public Sink {
 public:
  JsonSink(std::ostream& out, std::string node) : out_(out), node_(std::move(node)) {}
  void start(const StartInfo& info) override;
  void drop(const DropRecord& drop) override;
  void summary(const Summary& summary) override;

 private:
  void write(const nlohmann::ordered_json& j);
  std::ostream& out_;
  std::string node_;
};

}  // namespace vxt
