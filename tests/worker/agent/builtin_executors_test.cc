#include "worker/agent/builtin_executors.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace fc::agent {
namespace {

using Clock = std::chrono::steady_clock;

struct Recorded {
  std::vector<double> progress;
};

JobContext MakeContext(const std::string& kind, nlohmann::json params,
                       std::shared_ptr<CancelToken> cancel, Recorded* rec) {
  return JobContext("exp/" + kind, kind, std::move(params), {}, "/tmp", "cpu", std::move(cancel),
                    [rec](double p, const std::string&, const nlohmann::json&) {
                      if (rec) rec->progress.push_back(p);
                    });
}

std::unique_ptr<Executor> Make(const std::string& kind) {
  static ExecutorRegistry* registry = [] {
    auto* r = new ExecutorRegistry;
    if (!RegisterBuiltinExecutors(r).ok()) std::abort();
    return r;
  }();
  return std::move(registry->Create(kind)).value();
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(SleepExecutor, SleepsReportsMonotoneProgressAndRecordsTheResult) {
  Recorded rec;
  JobContext ctx = MakeContext("sleep", {{"seconds", 0.6}}, nullptr, &rec);
  auto t0 = Clock::now();
  ASSERT_TRUE(Make("sleep")->Run(ctx).ok());
  EXPECT_GE(SecondsSince(t0), 0.6);
  EXPECT_LT(SecondsSince(t0), 2.0);
  ASSERT_GE(rec.progress.size(), 3u);  // start, at least one tick, done
  EXPECT_EQ(rec.progress.front(), 0.0);
  EXPECT_EQ(rec.progress.back(), 1.0);
  for (size_t i = 1; i < rec.progress.size(); ++i) EXPECT_GE(rec.progress[i], rec.progress[i - 1]);
  EXPECT_DOUBLE_EQ(ctx.result()["slept_seconds"].get<double>(), 0.6);
}

TEST(SleepExecutor, CancellationStopsItWithinAFewPollPeriods) {
  auto cancel = std::make_shared<CancelToken>();
  JobContext ctx = MakeContext("sleep", {{"seconds", 30}}, cancel, nullptr);
  std::thread canceller([cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel->Cancel();
  });
  auto t0 = Clock::now();
  Status s = Make("sleep")->Run(ctx);
  canceller.join();
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_LT(SecondsSince(t0), 0.5);
}

TEST(SleepExecutor, NegativeOrNonNumericSecondsArePermanentErrors) {
  JobContext neg = MakeContext("sleep", {{"seconds", -1}}, nullptr, nullptr);
  Status s = Make("sleep")->Run(neg);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("field 'seconds'"), std::string::npos);
  JobContext str = MakeContext("sleep", {{"seconds", "1"}}, nullptr, nullptr);
  EXPECT_TRUE(IsPermanentFailure(Make("sleep")->Run(str).code()));
}

TEST(FailExecutor, FailsWithTheMessageAfterTheDelay) {
  JobContext ctx = MakeContext("fail", {{"message", "boom"}, {"after_seconds", 0.2}}, nullptr, nullptr);
  auto t0 = Clock::now();
  Status s = Make("fail")->Run(ctx);
  EXPECT_GE(SecondsSince(t0), 0.2);
  EXPECT_EQ(s.message(), "boom");
  EXPECT_FALSE(IsPermanentFailure(s.code())) << s.ToString();
}

TEST(FailExecutor, PermanentFailureIsNotRetryable) {
  JobContext ctx = MakeContext("fail", {{"message", "bad"}, {"permanent", true}}, nullptr, nullptr);
  Status s = Make("fail")->Run(ctx);
  EXPECT_TRUE(IsPermanentFailure(s.code())) << s.ToString();
}

TEST(FailExecutor, CancelledWhileWaitingReportsCancellation) {
  auto cancel = std::make_shared<CancelToken>();
  cancel->Cancel();
  JobContext ctx = MakeContext("fail", {{"after_seconds", 10}}, cancel, nullptr);
  EXPECT_EQ(Make("fail")->Run(ctx).code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace fc::agent
