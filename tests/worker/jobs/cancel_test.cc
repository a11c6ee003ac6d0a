// Cancellation: a long job stops within a step or batch of the cancel request and returns
// CANCELLED (the agent reports it as cancelled, not failed).
#include <chrono>
#include <thread>

#include "jobs_test_util.h"

namespace fc::jobs::testing {
namespace {

double CancelAfter(const std::string& kind, const nlohmann::json& params, const std::string& out, Status* status,
                   int delay_ms = 300) {
  auto cancel = std::make_shared<agent::CancelToken>();
  std::thread t([cancel, delay_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    cancel->Cancel();
  });
  auto t0 = std::chrono::steady_clock::now();
  Ran r = RunKind(kind, params, out, {}, cancel);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.join();
  *status = r.status;
  return s;
}

TEST_F(JobsTest, CancelStopsLongTrainingAndFinetuningQuickly) {
  MakeDataAndBase();
  Status s;
  double seconds = CancelAfter("train_base",
                               {{"data", data_.Output("ft")}, {"layers", 2}, {"heads", 2}, {"d_model", 32},
                                {"max_positions", 128}, {"steps", 1000000}, {"batch_size", 16}},
                               Dir("tb"), &s);
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
  EXPECT_LT(seconds, 10.0);

  nlohmann::json p = LoraParams();
  p["steps"] = 1000000;
  p["checkpoint_every"] = 0;
  seconds = CancelAfter("finetune", p, Dir("ft"), &s);
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
  EXPECT_LT(seconds, 10.0);
}

TEST_F(JobsTest, CancelStopsDiscoveryBetweenBatches) {
  MakeDataAndBase();
  Status s;
  double seconds = CancelAfter("discover", DiscoverParams(), Dir("d"), &s, /*delay_ms=*/0);
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
  EXPECT_LT(seconds, 10.0);
}

}  // namespace
}  // namespace fc::jobs::testing
