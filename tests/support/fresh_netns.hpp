// Runs test code and commands in a network namespace of their own. The namespace is anonymous
// (unshare on a thread of its own): the kernel removes it when that thread ends, so nothing is
// left behind when a test fails or throws, and iptables there never touches the host's firewall.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace vxt::test {

// Runs `body` on a new thread in a new, empty network namespace; rethrows what it throws.
template <typename F>
void in_fresh_netns(F body) {
  std::exception_ptr thrown;
  std::thread t([&] {
    try {
      if (unshare(CLONE_NEWNET) != 0)
        throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
      body();
    } catch (...) {
      thrown = std::current_exception();
    }
  });
  t.join();
  if (thrown) std::rethrow_exception(thrown);
}

// Runs argv[0] (found on PATH) with `input` on its stdin, in the calling thread's network
// namespace; its exit status, or -1 if it could not run.
inline int run_command(const std::vector<std::string>& argv, const std::string& input = "") {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A file, not a pipe: a command that exits before reading it all cannot SIGPIPE the test.
  int in = memfd_create("stdin", MFD_CLOEXEC);
  if (in < 0) return -1;
  bool written = write(in, input.data(), input.size()) == static_cast<ssize_t>(input.size()) &&
                 lseek(in, 0, SEEK_SET) == 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
  pid_t pid = -1;
  int err = written ? posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) : EIO;
  posix_spawn_file_actions_destroy(&fa);
  close(in);
  if (err != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace vxt::test
