// Subprocess: one child process started by a test (fork + execv), stdout and stderr appended to
// a log file. The destructor SIGKILLs and reaps a child that is still running, so a failing test
// never leaves processes behind; a test process that crashes takes its children along (the
// child has PR_SET_PDEATHSIG = SIGKILL, tied to the thread that called Start).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fc::itest {

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // argv[0] is the executable path. Returns false (errno kept) when fork fails.
  bool Start(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& extra_env = {});
  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Waits up to timeout for exit; the exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  void Kill();  // SIGKILL + reap
  const std::string& log_path() const { return log_path_; }
  std::string ReadLog() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv to completion (killed after timeout, exit_code then -1) with stdin from stdin_text.
CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::string& stdin_text = "");

}  // namespace fc::itest
