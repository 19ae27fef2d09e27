// The diagnosis for people (text) and for tools (JSON, schema in SCHEMA.md). Both write to
// a std::ostream so tests read a std::stringstream.
#pragma once

#include <ostream>
#include <string>

#include "modes/doctor/diagnosis.hpp"

namespace vxt::doctor {

struct ReportContext {
  std::string node, kernel, version;
  double window_s = 0;  // 0: no live evidence
  const LiveEvidence* live = nullptr;
};

inline constexpr int kSchemaVersion = 1;

json report_json(const Diagnosis& d, const ReportContext& ctx);
void write_json(std::ostream& out, const Diagnosis& d, const ReportContext& ctx);
void write_text(std::ostream& out, const Diagnosis& d, const ReportContext& ctx);

}  // namespace vxt::doctor
