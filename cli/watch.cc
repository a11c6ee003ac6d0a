// fcctl watch: GetExperiment for the starting picture, then Watch streams (each with a deadline)
// reopened after the last printed seq until the experiment is terminal. A lost coordinator is
// retried with backoff; nothing is missed because the event log is durable and seq-ordered.
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_code.h"

namespace fc::cli {
namespace {

struct JobView {
  v1::JobState state = v1::PENDING;
  double progress = 0;
};

class WatchView {
 public:
  WatchView(OutputFormat format, bool tty) : format_(format), tty_(tty) {}

  void Reset(const v1::GetExperimentReply& r) {
    for (const v1::Job& j : r.jobs()) jobs_[j.id()] = {j.state(), j.progress()};
  }

  void OnEvent(const v1::Event& e) {
    if (!e.job_id().empty()) {
      JobView& j = jobs_[e.job_id()];
      if (e.type() == "progress") {
        j.progress = e.progress();
      } else if (e.job_state() != v1::JOB_STATE_UNSPECIFIED) {
        j.state = e.job_state();
        if (j.state == v1::SUCCEEDED) j.progress = 1;
      }
    }
    if (format_ == OutputFormat::kJson) {
      fmt::print("{}\n", ToJson(e, false));
      std::fflush(stdout);
      return;
    }
    if (e.type() == "progress") {
      DrawBar();
      return;
    }
    ClearBar();
    std::string what = e.job_id().empty() ? e.experiment_id() : e.job_id();
    std::string state = e.job_state() != v1::JOB_STATE_UNSPECIFIED ? JobStateName(e.job_state()) : "";
    fmt::print("{} #{:<5} {:<16} {:<28} {:<10} {}\n", FormatTime(e.unix_ms()).substr(11), e.seq(), e.type(),
               what, state, e.message());
    DrawBar();
    std::fflush(stdout);
  }

  void Finish(const v1::Experiment& e) {
    if (format_ == OutputFormat::kJson) return;
    ClearBar();
    fmt::print("experiment {} {}\n", e.id(), ExperimentStateName(e.state()));
  }

 private:
  void DrawBar() {
    if (!tty_ || jobs_.empty()) return;
    int done = 0;
    double sum = 0;
    for (const auto& [id, j] : jobs_) {
      bool terminal = IsTerminal(j.state);
      done += terminal ? 1 : 0;
      sum += terminal ? 1.0 : (j.state == v1::RUNNING ? j.progress : 0.0);
    }
    fmt::print("\r\033[K{}", ProgressBar(sum / jobs_.size(), done, static_cast<int>(jobs_.size())));
    std::fflush(stdout);
    bar_shown_ = true;
  }
  void ClearBar() {
    if (bar_shown_) fmt::print("\r\033[K");
    bar_shown_ = false;
  }

  OutputFormat format_;
  bool tty_;
  bool bar_shown_ = false;
  std::map<std::string, JobView> jobs_;
};

}  // namespace

int CmdWatch(Client& c, const CommonOptions& o, const std::string& experiment, const WatchOptions& w) {
  WatchView view(o.format, ::isatty(STDOUT_FILENO) == 1);
  int64_t last_seq = w.after_seq;
  auto unreachable_since = std::chrono::steady_clock::time_point();
  int64_t backoff_ms = 200;
  bool first = true;
  while (true) {
    v1::GetExperimentReply exp;
    Status s = c.GetExperiment(experiment, &exp);
    if (s.ok()) {
      if (first) view.Reset(exp);
      first = false;
      unreachable_since = {};
      backoff_ms = 200;
      bool terminal = IsTerminal(exp.experiment().state());
      bool ended = false;
      // A finished experiment still gets its backlog printed, briefly.
      s = c.Watch(experiment, last_seq, terminal ? 1500 : w.stream_ms, [&](const v1::Event& e) {
        if (e.seq() <= last_seq) return true;  // a resumed stream never repeats an event
        last_seq = e.seq();
        view.OnEvent(e);
        if (e.type() == "experiment_state" ||
            (e.job_state() != v1::JOB_STATE_UNSPECIFIED && IsTerminal(e.job_state()))) {
          v1::GetExperimentReply now;
          if (c.GetExperiment(experiment, &now).ok() && IsTerminal(now.experiment().state())) {
            exp = now;
            ended = true;
            return false;
          }
        }
        return true;
      });
      if (ended || (terminal && (s.ok() || s.code() == StatusCode::kDeadlineExceeded))) {
        view.Finish(exp.experiment());
        return exp.experiment().state() == v1::EXP_SUCCEEDED ? kExitOk : kExitError;
      }
      if (s.ok() || s.code() == StatusCode::kDeadlineExceeded) continue;  // reopen the stream
    }
    // Unreachable before the first answer is a wrong address, not a restart: say so at once.
    if (s.code() != StatusCode::kUnavailable || first) {
      fmt::print(stderr, "{}\n", ErrorMessage(s, o.coordinator));
      return ExitCodeFor(s);
    }
    auto now = std::chrono::steady_clock::now();
    if (unreachable_since == std::chrono::steady_clock::time_point()) unreachable_since = now;
    if (now - unreachable_since > std::chrono::milliseconds(w.reconnect_timeout_ms)) {
      fmt::print(stderr, "{}\n", ErrorMessage(s, o.coordinator));
      return kExitUnreachable;
    }
    fmt::print(stderr, "fcctl: lost the coordinator at {} ({}); resuming after seq {}\n", o.coordinator,
               s.message(), last_seq);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 2000);
  }
}

}  // namespace fc::cli
