#include "worker/attribution/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fc::attribution {
namespace {

TEST(Metrics, KlMeanIsSumDividedByVocabAndZeroForIdenticalDistributions) {
  torch::manual_seed(1);
  torch::Tensor a = torch::randn({3, 7});
  torch::Tensor b = torch::randn({3, 7});
  torch::Tensor sum = KlDivergence(a, b, KlReduction::kSumOverVocab);
  torch::Tensor mean = KlDivergence(a, b, KlReduction::kMeanOverVocab);
  EXPECT_TRUE(torch::allclose(mean * 7, sum, 1e-6, 1e-6));
  EXPECT_TRUE((sum > 0).all().item<bool>());
  EXPECT_LT(KlDivergence(a, a, KlReduction::kSumOverVocab).abs().max().item<float>(), 1e-6);
}

TEST(Metrics, KlMatchesTheDefinitionOnATwoTokenVocabulary) {
  // ref logits (0, log 3) -> p = (1/4, 3/4); model logits (0, 0) -> q = (1/2, 1/2).
  torch::Tensor ref = torch::tensor({0.0f, std::log(3.0f)}).view({1, 2});
  torch::Tensor model = torch::zeros({1, 2});
  const double expected = 0.25 * std::log(0.25 / 0.5) + 0.75 * std::log(0.75 / 0.5);
  EXPECT_NEAR(KlDivergence(ref, model, KlReduction::kSumOverVocab).item<float>(), expected, 1e-6);
}

TEST(Metrics, KlStaysFiniteWhereSoftmaxUnderflows) {
  // softmax().log() would give log(0) = -inf here; log_softmax must not.
  torch::Tensor ref = torch::tensor({0.0f, -200.0f}).view({1, 2});
  torch::Tensor model = torch::tensor({-200.0f, 0.0f}).view({1, 2});
  torch::Tensor kl = KlDivergence(ref, model, KlReduction::kSumOverVocab);
  EXPECT_TRUE(std::isfinite(kl.item<float>()));
  EXPECT_NEAR(kl.item<float>(), 200.0, 1e-3);
}

TEST(Metrics, MetricsReadThePositionLengthMinusOne) {
  // logits [2, 3, 4]: row 0 has length 2, row 1 length 3.
  torch::Tensor logits = torch::zeros({2, 3, 4});
  logits[0][1][2] = 5.0;   // row 0, position len-1 = 1, token 2
  logits[0][2][2] = 100.0; // a padded position that must not be read
  logits[1][2][1] = 3.0;   // row 1, position 2, token 1
  torch::Tensor lengths = torch::tensor({2, 3}, torch::kLong);
  torch::Tensor labels = torch::tensor({2, 1}, torch::kLong);
  torch::Tensor incorrect = torch::tensor({0, 0}, torch::kLong);
  auto ld = PerExampleMetric({MetricKind::kLogitDiff}, logits, {}, lengths, labels, incorrect);
  ASSERT_TRUE(ld.ok()) << ld.status().ToString();
  EXPECT_FLOAT_EQ((*ld)[0].item<float>(), 5.0f);
  EXPECT_FLOAT_EQ((*ld)[1].item<float>(), 3.0f);
  auto pd = PerExampleMetric({MetricKind::kProbDiff}, logits, {}, lengths, labels, incorrect);
  ASSERT_TRUE(pd.ok());
  const double e5 = std::exp(5.0);
  EXPECT_NEAR((*pd)[0].item<float>(), (e5 - 1.0) / (e5 + 3.0), 1e-6);
  auto acc = ExactMatchAccuracy(logits, lengths, labels);
  ASSERT_TRUE(acc.ok());
  EXPECT_DOUBLE_EQ(*acc, 1.0);
  auto half = ExactMatchAccuracy(logits, lengths, torch::tensor({2, 3}, torch::kLong));
  ASSERT_TRUE(half.ok());
  EXPECT_DOUBLE_EQ(*half, 0.5);
}

TEST(Metrics, KlReadsTheReferenceAtTheSamePositions) {
  torch::manual_seed(2);
  torch::Tensor logits = torch::randn({2, 4, 5});
  torch::Tensor ref = logits.clone();
  ref[0][3] += torch::randn({5});  // beyond row 0's length 2: must not matter
  torch::Tensor lengths = torch::tensor({2, 4}, torch::kLong);
  auto kl = PerExampleMetric({MetricKind::kKl}, logits, ref, lengths, {}, {});
  ASSERT_TRUE(kl.ok());
  EXPECT_LT((*kl).abs().max().item<float>(), 1e-7);
}

TEST(Metrics, BadInputGivesErrorsNamingTheField) {
  torch::Tensor logits = torch::zeros({2, 3, 4});
  auto bad_len = PerExampleMetric({MetricKind::kKl}, logits, logits,
                                  torch::tensor({0, 3}, torch::kLong), {}, {});
  ASSERT_FALSE(bad_len.ok());
  EXPECT_NE(bad_len.status().message().find("lengths"), std::string::npos);
  auto bad_label = PerExampleMetric({MetricKind::kLogitDiff}, logits, {},
                                    torch::tensor({3, 3}, torch::kLong),
                                    torch::tensor({1, 9}, torch::kLong),
                                    torch::tensor({0, 0}, torch::kLong));
  ASSERT_FALSE(bad_label.ok());
  EXPECT_NE(bad_label.status().message().find("row 1 field 'label'"), std::string::npos)
      << bad_label.status().message();
  auto no_ref = PerExampleMetric({MetricKind::kKl}, logits, {}, torch::tensor({3, 3}, torch::kLong),
                                 {}, {});
  EXPECT_FALSE(no_ref.ok());
  EXPECT_FALSE(ParseMetricKind("klx").ok());
  EXPECT_EQ(*ParseMetricKind("prob_diff"), MetricKind::kProbDiff);
}

TEST(Metrics, MetricIsDifferentiableWithRespectToLogits) {
  torch::manual_seed(3);
  torch::Tensor logits = torch::randn({2, 3, 6}).requires_grad_(true);
  torch::Tensor ref = torch::randn({2, 3, 6});
  auto kl = PerExampleMetric({MetricKind::kKl}, logits, ref, torch::tensor({3, 2}, torch::kLong),
                             {}, {});
  ASSERT_TRUE(kl.ok());
  kl->sum().backward();
  // Only the two read positions get a gradient.
  torch::Tensor g = logits.grad().abs().sum(-1);
  EXPECT_GT(g[0][2].item<float>(), 0);
  EXPECT_GT(g[1][1].item<float>(), 0);
  EXPECT_EQ(g[0][0].item<float>(), 0);
  EXPECT_EQ(g[1][2].item<float>(), 0);
}

}  // namespace
}  // namespace fc::attribution
