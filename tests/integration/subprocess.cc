#include "tests/integration/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace fc::itest {
namespace {

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<char*> CArgv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

Subprocess::~Subprocess() { Kill(); }

bool Subprocess::Start(const std::vector<std::string>& argv, const std::string& log_path,
                       const std::vector<std::string>& extra_env) {
  log_path_ = log_path;
  exit_code_.reset();
  std::vector<char*> args = CArgv(argv);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    // Die with the test: a test process that crashes (or is SIGKILLed by ctest's timeout) runs
    // no destructor, and its coordinators and workers would live on. The signal is tied to the
    // forking THREAD's exit, so Start must be called from a thread that lives as long as the
    // child should (a test's main thread does). The parent may have died before the prctl:
    // then we are already re-parented and no signal would ever come.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // New process group: a signal to the test does not reach the child and vice versa.
    setpgid(0, 0);
    for (const std::string& kv : extra_env) putenv(const_cast<char*>(kv.c_str()));
    execv(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
  return true;
}

bool Subprocess::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = DecodeWait(status);
    return false;
  }
  return r == 0;
}

void Subprocess::Signal(int sig) {
  if (running()) kill(pid_, sig);
}

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

void Subprocess::Kill() {
  if (running()) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

std::string Subprocess::ReadLog() const { return ReadAll(log_path_); }

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::string& stdin_text) {
  char out_tmpl[] = "/tmp/fc_itest_outXXXXXX";
  char err_tmpl[] = "/tmp/fc_itest_errXXXXXX";
  char in_tmpl[] = "/tmp/fc_itest_inXXXXXX";
  int out_fd = mkstemp(out_tmpl), err_fd = mkstemp(err_tmpl), in_fd = mkstemp(in_tmpl);
  CommandResult r;
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) return r;
  if (!stdin_text.empty() && write(in_fd, stdin_text.data(), stdin_text.size()) < 0) return r;
  lseek(in_fd, 0, SEEK_SET);
  std::vector<char*> args = CArgv(argv);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      r.exit_code = DecodeWait(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.exit_code = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  close(out_fd);
  close(err_fd);
  close(in_fd);
  r.out = ReadAll(out_tmpl);
  r.err = ReadAll(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  unlink(in_tmpl);
  return r;
}

}  // namespace fc::itest
