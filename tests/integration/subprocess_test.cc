// Subprocess: a child started by a test dies with the test process, also when the test crashes
// (no destructor runs): PR_SET_PDEATHSIG. The "test process" here is a forked helper that
// starts `sleep 60` through Subprocess, passes its pid up a pipe and SIGKILLs itself.
#include "tests/integration/subprocess.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace fc::itest {
namespace {

// Gone or a zombie (killed, not yet reaped by whoever inherited it).
bool Dead(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  if (!f) return true;
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  return close == std::string::npos || stat.substr(close + 2, 1) == "Z";
}

TEST(Subprocess, ChildDiesWhenTheTestProcessCrashes) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string log = ::testing::TempDir() + "/subprocess_crash_child.log";
  pid_t helper = fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    close(fds[0]);
    Subprocess child;
    if (!child.Start({"/bin/sleep", "60"}, log)) _exit(3);
    pid_t pid = child.pid();
    if (write(fds[1], &pid, sizeof pid) != sizeof pid) _exit(4);
    // Let the child get past its prctl before the crash (either way it must end up dead).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    kill(getpid(), SIGKILL);  // a crash: ~Subprocess never runs
    _exit(5);
  }
  close(fds[1]);
  pid_t child = -1;
  ASSERT_EQ(read(fds[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(helper, &status, 0), helper);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "helper status " << status;
  ASSERT_GT(child, 0);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!Dead(child) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const bool dead = Dead(child);
  if (!dead) kill(child, SIGKILL);  // do not leave it behind when the assertion fails
  EXPECT_TRUE(dead) << "child " << child << " of a crashed test process is still running";
}

}  // namespace
}  // namespace fc::itest
