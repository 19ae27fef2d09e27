// The trace session's stdout: what it writes arrives in order, and a failed write keeps its
// errno so vxtrace can say why it stopped.
#include "sys/fd_output.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <ostream>
#include <string>

namespace vxt {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { EXPECT_EQ(pipe2(fd, O_CLOEXEC), 0); }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  void close_reader() {
    close(fd[0]);
    fd[0] = -1;
  }
  std::string read_all() {
    close(fd[1]);
    fd[1] = -1;
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = read(fd[0], buf, sizeof(buf))) > 0;) s.append(buf, n);
    return s;
  }
};

// SIGPIPE ignored for the scope, as the session's handler makes a write to a closed pipe
// return EPIPE instead of killing the process.
struct IgnoreSigpipe {
  struct sigaction old {};
  IgnoreSigpipe() {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old);
  }
  ~IgnoreSigpipe() { sigaction(SIGPIPE, &old, nullptr); }
};

auto never = [] { return false; };

TEST(FdOutput, WritesEverythingInOrder) {
  Pipe p;
  std::string expected;
  {
    FdOutput buf(p.fd[1], never);
    std::ostream out(&buf);
    for (int i = 0; i < 20; ++i) {
      std::string line = "line " + std::to_string(i) + "\n";
      out << line;
      expected += line;
    }
    out.flush();
    std::string big(40 * 1024, 'x');  // larger than what is left of the buffer
    out.write(big.data(), static_cast<std::streamsize>(big.size()));
    expected += big;
    out << "tail\n";  // written by the destructor
    expected += "tail\n";
    EXPECT_TRUE(out.good());
    EXPECT_EQ(buf.error(), 0);
    EXPECT_FALSE(buf.broken());
  }
  EXPECT_EQ(p.read_all(), expected);
}

TEST(FdOutput, AFullDiskIsAnErrorWithItsErrno) {
  int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  FdOutput buf(fd, never);
  std::ostream out(&buf);
  out << "{\"type\":\"start\"}\n";
  out.flush();
  EXPECT_FALSE(out.good());
  EXPECT_EQ(buf.error(), ENOSPC);
  EXPECT_TRUE(buf.broken());
  close(fd);
}

TEST(FdOutput, APipeWithoutReaderIsBrokenBeforeAnythingIsWritten) {
  Pipe p;
  FdOutput buf(p.fd[1], never);
  EXPECT_FALSE(buf.broken());
  p.close_reader();  // `vxtrace | head -1`: head has its line and exits
  EXPECT_TRUE(buf.broken());
  EXPECT_EQ(buf.error(), EPIPE);
}

TEST(FdOutput, AWriteToAClosedPipeIsEpipe) {
  IgnoreSigpipe ignore;
  Pipe p;
  p.close_reader();
  FdOutput buf(p.fd[1], never);
  std::ostream out(&buf);
  out << "x\n" << std::flush;
  EXPECT_EQ(buf.error(), EPIPE);
}

void on_alarm(int) {}

TEST(FdOutput, AStopWhileTheReaderStallsAbandonsTheOutputWithoutAnError) {
  Pipe p;  // nobody reads: the second 64 KiB block blocks
  struct sigaction sa {
  }, old{};
  sa.sa_handler = on_alarm;  // no SA_RESTART: the blocked write returns EINTR
  sigaction(SIGALRM, &sa, &old);
  itimerval every_20ms{{0, 20'000}, {0, 20'000}};
  setitimer(ITIMER_REAL, &every_20ms, nullptr);
  int asked = 0;
  {
    FdOutput buf(p.fd[1], [&] { return ++asked >= 2; });
    std::ostream out(&buf);
    std::string block(256 * 1024, 'x');
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
    EXPECT_FALSE(out.good());
    EXPECT_EQ(buf.error(), 0) << "a stop asked for is not a write error";
  }
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
  EXPECT_EQ(asked, 2) << "the first interruption retried, the second gave up";
}

}  // namespace
}  // namespace vxt
