// Small readers for procfs/sysfs: the kernel's own files, never another program's output.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vxt {

std::optional<std::string> read_text(const std::string& path);
std::optional<long> read_long(const std::string& path);
std::vector<std::string> list_dir(const std::string& path);  // names, sorted, no . or ..

}  // namespace vxt
