#include "sys/netns_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <memory>
#include <string>

namespace vxt {
namespace {

bool has_inode(const std::string& path, uint32_t inode) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && static_cast<uint32_t>(st.st_ino) == inode;
}

// The first entry of `dir` whose `path_of(name)` is the namespace; "" when none is.
template <typename PathOf>
std::string find_in(const char* dir, uint32_t inode, PathOf path_of) {
  struct Closedir {
    void operator()(DIR* d) const { closedir(d); }
  };
  std::unique_ptr<DIR, Closedir> d(opendir(dir));
  if (!d) return {};
  while (dirent* e = readdir(d.get())) {
    if (e->d_name[0] == '.') continue;
    auto path = path_of(std::string(e->d_name));
    if (!path.empty() && has_inode(path, inode)) return path;
  }
  return {};
}

}  // namespace

uint32_t own_netns_inode() {
  struct stat st {};
  return stat("/proc/self/ns/net", &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

int open_netns(uint32_t inode) {
  auto path = find_in("/run/netns", inode, [](const std::string& n) { return "/run/netns/" + n; });
  if (path.empty())
    path = find_in("/proc", inode, [](const std::string& n) {
      return std::isdigit(static_cast<unsigned char>(n[0])) ? "/proc/" + n + "/ns/net"
                                                            : std::string();
    });
  return path.empty() ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

}  // namespace vxt
