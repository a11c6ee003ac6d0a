#include "worker/finetune/loss.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fc::finetune {
namespace {

TEST(CausalLmLoss, IsShiftedMeanOverUnmaskedLabels) {
  torch::manual_seed(1);
  torch::Tensor logits = torch::randn({2, 4, 5});
  torch::Tensor labels = torch::tensor({{-100, -100, 3, 1}, {-100, 2, -100, 4}}, torch::kInt64);
  auto loss = CausalLmLoss(logits, labels);
  ASSERT_TRUE(loss.ok()) << loss.status().ToString();
  // By hand: position t predicts labels[t+1].
  torch::Tensor lp = torch::log_softmax(logits, -1);
  double expected = -(lp[0][1][3].item<double>() + lp[0][2][1].item<double>() + lp[1][0][2].item<double>() +
                      lp[1][2][4].item<double>()) / 4.0;
  EXPECT_NEAR(loss->item<double>(), expected, 1e-6);
  auto sum = CausalLmLossSum(logits, labels);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->count, 4);
  EXPECT_EQ(CountLabels(labels), 4);
}

TEST(CausalLmLoss, MaskedPositionsDoNotChangeTheLoss) {
  torch::manual_seed(2);
  torch::Tensor logits = torch::randn({1, 4, 6});
  torch::Tensor labels = torch::tensor({{-100, -100, 2, 5}}, torch::kInt64);
  auto a = CausalLmLoss(logits, labels);
  logits[0][0] += 100.0;  // predicts labels[1] (masked): must not matter
  auto b = CausalLmLoss(logits, labels);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_DOUBLE_EQ(a->item<double>(), b->item<double>());
}

TEST(CausalLmLoss, AllMaskedGivesZeroNotNan) {
  torch::Tensor logits = torch::randn({1, 3, 4}, torch::requires_grad());
  torch::Tensor labels = torch::full({1, 3}, -100, torch::kInt64);
  auto loss = CausalLmLoss(logits, labels);
  ASSERT_TRUE(loss.ok());
  EXPECT_EQ(loss->item<double>(), 0.0);
  EXPECT_FALSE(std::isnan(loss->item<double>()));
}

TEST(CausalLmLoss, RejectsBadShapesAndLabels) {
  EXPECT_EQ(CausalLmLoss(torch::randn({2, 4}), torch::zeros({2, 4}, torch::kInt64)).status().code(),
            StatusCode::kInvalidArgument);
  auto out_of_vocab = CausalLmLoss(torch::randn({1, 3, 4}), torch::tensor({{0, 1, 9}}, torch::kInt64));
  EXPECT_EQ(out_of_vocab.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::finetune
