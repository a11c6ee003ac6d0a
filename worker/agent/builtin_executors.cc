#include "worker/agent/builtin_executors.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "worker/agent/params.h"

namespace fc::agent {
namespace {

using Clock = std::chrono::steady_clock;

// Polling period for cancellation: far below any heartbeat interval.
constexpr auto kPoll = std::chrono::milliseconds(20);
// How often the sleep executor reports progress.
constexpr auto kProgressEvery = std::chrono::milliseconds(250);

// Sleeps `seconds`, polling cancellation; calls tick(fraction) about every kProgressEvery.
// Returns false when cancelled.
template <typename Tick>
bool CancellableWait(const JobContext& ctx, double seconds, Tick tick) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
  auto next_tick = start + kProgressEvery;
  while (true) {
    if (ctx.cancelled()) return false;
    auto now = Clock::now();
    if (now >= end) return true;
    if (now >= next_tick) {
      tick(std::chrono::duration<double>(now - start).count() / seconds);
      next_tick = now + kProgressEvery;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(kPoll, end - now));
  }
}

StatusOr<double> NonNegative(const JobContext& ctx, const std::string& field, double def) {
  FC_ASSIGN_OR_RETURN(double v, GetNumber(ctx.params(), ctx.kind(), field, def));
  if (!(v >= 0) || v > 86400) {
    return InvalidArgumentError("job kind '{}' field '{}': must be in [0, 86400], got {}",
                                ctx.kind(), field, v);
  }
  return v;
}

class SleepExecutor : public Executor {
 public:
  Status Run(JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(double seconds, NonNegative(ctx, "seconds", 1.0));
    ctx.ReportProgress(0.0, fmt::format("sleeping {}s", seconds));
    bool done = CancellableWait(ctx, seconds, [&](double f) {
      ctx.ReportProgress(std::min(f, 1.0), "sleeping", {{"elapsed_fraction", f}});
    });
    if (!done) return CancelledError("job {} cancelled while sleeping", ctx.job_id());
    ctx.ReportProgress(1.0, "done");
    ctx.SetResult({{"slept_seconds", seconds}});
    return Status::OK();
  }
};

class FailExecutor : public Executor {
 public:
  Status Run(JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(std::string message,
                        GetString(ctx.params(), ctx.kind(), "message", "fail job failed as asked"));
    FC_ASSIGN_OR_RETURN(double after, NonNegative(ctx, "after_seconds", 0.0));
    FC_ASSIGN_OR_RETURN(bool permanent, GetBool(ctx.params(), ctx.kind(), "permanent", false));
    if (!CancellableWait(ctx, after, [](double) {})) {
      return CancelledError("job {} cancelled before failing", ctx.job_id());
    }
    if (permanent) return InvalidArgumentError("{}", message);
    return UnknownError("{}", message);
  }
};

}  // namespace

Status RegisterBuiltinExecutors(ExecutorRegistry* registry) {
  FC_RETURN_IF_ERROR(registry->Register("sleep", [] { return std::make_unique<SleepExecutor>(); }));
  FC_RETURN_IF_ERROR(registry->Register("fail", [] { return std::make_unique<FailExecutor>(); }));
  return Status::OK();
}

}  // namespace fc::agent
