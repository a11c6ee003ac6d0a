#include "worker/finetune/lr_schedule.h"

#include <gtest/gtest.h>

namespace fc::finetune {
namespace {

TEST(LinearSchedule, WarmsUpLinearlyThenDecaysToZeroLikeHf) {
  auto s = LinearSchedule::Create(4, 12);
  ASSERT_TRUE(s.ok());
  // HF get_linear_schedule_with_warmup(warmup=4, total=12) lambdas.
  const double expected[] = {0.0, 0.25, 0.5, 0.75, 1.0, 7.0 / 8, 6.0 / 8, 5.0 / 8, 4.0 / 8, 3.0 / 8, 2.0 / 8, 1.0 / 8, 0.0};
  for (int step = 0; step <= 12; ++step) EXPECT_DOUBLE_EQ(s->Multiplier(step), expected[step]) << step;
  EXPECT_DOUBLE_EQ(s->Multiplier(100), 0.0);
}

TEST(LinearSchedule, NoWarmupStartsAtPeak) {
  auto s = LinearSchedule::Create(0, 10);
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->Multiplier(0), 1.0);
  EXPECT_DOUBLE_EQ(s->Multiplier(5), 0.5);
}

TEST(LinearSchedule, RejectsBadStepCounts) {
  EXPECT_EQ(LinearSchedule::Create(0, 0).status().code(), StatusCode::kInvalidArgument);
  auto bad = LinearSchedule::Create(11, 10);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("warmup_steps"), std::string::npos);
}

}  // namespace
}  // namespace fc::finetune
