#include "worker/model/predict.h"

#include <gtest/gtest.h>

#include "tests/worker/model/model_test_util.h"

namespace fc::model {
namespace {

using testing::MustParse;
using testing::RandomIds;

TEST(Predict, GreedyReadsArgmaxAtLengthMinusOnePerRow) {
  auto model = CreateRandomCausalLM(MustParse(testing::TinyGpt2Json()), 2);
  torch::Tensor ids = RandomIds(3, 6, 50, 7);
  torch::Tensor lens = torch::tensor({6, 2, 4}, torch::kInt64);
  auto pred = GreedyNextTokens(*model, ids, lens);
  ASSERT_TRUE(pred.ok()) << pred.status().ToString();
  torch::NoGradGuard g;
  torch::Tensor logits = model->Forward(ids);
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t len = lens[i].item<int64_t>();
    EXPECT_EQ((*pred)[i].item<int64_t>(), logits[i][len - 1].argmax().item<int64_t>()) << i;
  }
}

TEST(Predict, BadLengthsAreRejectedWithTheRow) {
  auto model = CreateRandomCausalLM(MustParse(testing::TinyGpt2Json()), 2);
  auto r = GreedyNextTokens(*model, RandomIds(2, 4, 50, 1), torch::tensor({4, 5}, torch::kInt64));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("row 1 has length 5"), std::string::npos);
}

TEST(Predict, ExactMatchAccuracyIsIndependentOfBatchingAndPadding) {
  auto model = CreateRandomCausalLM(MustParse(testing::TinyNeoxJson()), 4);
  std::vector<std::vector<int64_t>> rows;
  for (int i = 0; i < 7; ++i) {
    torch::Tensor r = RandomIds(1, 2 + i % 4, 50, 100 + i)[0];
    rows.emplace_back(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
  }
  // Expected ids: each row's own unpadded greedy prediction, then flip two of them.
  std::vector<int64_t> expected;
  for (const auto& row : rows) {
    torch::Tensor ids = torch::tensor(row, torch::kInt64).view({1, -1});
    auto p = GreedyNextTokens(*model, ids, torch::tensor({ids.size(1)}, torch::kInt64));
    ASSERT_TRUE(p.ok());
    expected.push_back((*p)[0].item<int64_t>());
  }
  expected[1] = (expected[1] + 1) % 50;
  expected[5] = (expected[5] + 1) % 50;
  for (int64_t batch : {1, 3, 32}) {
    auto acc = ExactMatchAccuracy(*model, rows, expected, batch, /*pad_id=*/0);
    ASSERT_TRUE(acc.ok()) << acc.status().ToString();
    EXPECT_EQ(acc->total, 7);
    EXPECT_EQ(acc->correct, 5) << "batch " << batch;
    EXPECT_NEAR(acc->accuracy(), 5.0 / 7, 1e-12);
  }
  EXPECT_FALSE(ExactMatchAccuracy(*model, rows, {1, 2}).ok());
}

}  // namespace
}  // namespace fc::model
