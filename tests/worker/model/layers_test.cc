// Known-answer tests for the building blocks: every expected value is computed by hand here.
#include "worker/model/layers.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fc::model {
namespace {

TEST(Rotary, RotatesHalvesPairwiseAndPassesTheRestThrough) {
  // d_head 6, rotary_dim 4, base 100: inv_freq = [1, 1/10]; pairs are (0,2) and (1,3).
  const int64_t P = 3;
  auto [cos, sin] = RotaryTables(P, 4, 100.0, torch::kCPU);
  ASSERT_EQ(cos.sizes(), (std::vector<int64_t>{P, 4}));
  torch::Tensor x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).view({1, 1, 1, 6})
                        .expand({1, P, 1, 6}).contiguous();
  torch::Tensor y = ApplyRotary(x, cos, sin, 4);
  for (int64_t p = 0; p < P; ++p) {
    const double a = p * 1.0, b = p * 0.1;
    const double want[6] = {1 * std::cos(a) - 3 * std::sin(a), 2 * std::cos(b) - 4 * std::sin(b),
                            3 * std::cos(a) + 1 * std::sin(a), 4 * std::cos(b) + 2 * std::sin(b),
                            5, 6};
    for (int i = 0; i < 6; ++i) {
      EXPECT_NEAR(y[0][p][0][i].item<double>(), want[i], 1e-5) << "p=" << p << " i=" << i;
    }
  }
}

TEST(Rotary, ZeroRotaryDimIsIdentity) {
  torch::Tensor x = torch::randn({1, 2, 1, 4});
  auto [cos, sin] = RotaryTables(2, 0, 10000.0, torch::kCPU);
  EXPECT_TRUE(torch::equal(ApplyRotary(x, cos, sin, 0), x));
}

TEST(CausalSelfAttention, HandComputedTwoPositions) {
  // Dh = 4 -> scale 1/2. Position 1 scores: q1.k0/2 = 0, q1.k1/2 = ln 3 -> weights 1/4, 3/4.
  const float ln3 = static_cast<float>(std::log(3.0));
  torch::Tensor q = torch::tensor({5.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f}).view({1, 2, 1, 4});
  torch::Tensor k = torch::tensor({0.0f, 0.0f, 0.0f, 0.0f, 2 * ln3, 0.0f, 0.0f, 0.0f}).view({1, 2, 1, 4});
  torch::Tensor v = torch::tensor({10.0f, 1.0f, 0.0f, 0.0f, 20.0f, 5.0f, 0.0f, 0.0f}).view({1, 2, 1, 4});
  torch::Tensor z = CausalSelfAttention(q, k, v);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{1, 2, 1, 4}));
  // Position 0 sees only itself, whatever q0 . k1 would be (causal mask).
  EXPECT_NEAR(z[0][0][0][0].item<float>(), 10.0f, 1e-5);
  EXPECT_NEAR(z[0][0][0][1].item<float>(), 1.0f, 1e-5);
  EXPECT_NEAR(z[0][1][0][0].item<float>(), 0.25f * 10 + 0.75f * 20, 1e-4);
  EXPECT_NEAR(z[0][1][0][1].item<float>(), 0.25f * 1 + 0.75f * 5, 1e-4);
}

TEST(CausalSelfAttention, HeadsAreIndependentAndBf16StaysClose) {
  torch::manual_seed(3);
  torch::Tensor q = torch::randn({2, 5, 3, 8}), k = torch::randn({2, 5, 3, 8}),
                v = torch::randn({2, 5, 3, 8});
  torch::Tensor z = CausalSelfAttention(q, k, v);
  for (int h = 0; h < 3; ++h) {
    auto s = torch::indexing::Slice(h, h + 1);
    using torch::indexing::Slice;
    torch::Tensor zh = CausalSelfAttention(q.index({Slice(), Slice(), s}), k.index({Slice(), Slice(), s}),
                                           v.index({Slice(), Slice(), s}));
    EXPECT_TRUE(torch::allclose(zh, z.index({Slice(), Slice(), s}), 1e-5, 1e-6)) << h;
  }
  torch::Tensor zb = CausalSelfAttention(q.to(torch::kBFloat16), k.to(torch::kBFloat16),
                                         v.to(torch::kBFloat16));
  EXPECT_EQ(zb.scalar_type(), torch::kBFloat16);
  EXPECT_LT((zb.to(torch::kFloat32) - z).abs().max().item<float>(), 0.05f);
}

TEST(Gelu, ExactAndTanhVariantsMatchReferenceValues) {
  torch::Tensor x = torch::tensor({1.0f, -0.5f});
  torch::Tensor exact = Gelu(x, Activation::kGeluErf);
  torch::Tensor approx = Gelu(x, Activation::kGeluTanh);
  auto erf_gelu = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  auto tanh_gelu = [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
  };
  for (int i = 0; i < 2; ++i) {
    const double v = x[i].item<double>();
    EXPECT_NEAR(exact[i].item<double>(), erf_gelu(v), 1e-6);
    EXPECT_NEAR(approx[i].item<double>(), tanh_gelu(v), 1e-6);
  }
  EXPECT_GT(std::abs(exact[0].item<double>() - approx[0].item<double>()), 1e-5);
}

TEST(LayerNorm, Bf16InputNormalisesInFloat32) {
  LayerNorm ln(4, 1e-5, torch::TensorOptions().dtype(torch::kBFloat16));
  torch::NoGradGuard g;
  ln->weight.fill_(1);
  ln->bias.fill_(0);
  torch::Tensor x = torch::tensor({100.0f, 101.0f, 102.0f, 103.0f}).to(torch::kBFloat16);
  torch::Tensor y = ln(x).to(torch::kFloat32);
  const float want[4] = {-1.3416f, -0.4472f, 0.4472f, 1.3416f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i].item<float>(), want[i], 0.02f) << i;
}

}  // namespace
}  // namespace fc::model
