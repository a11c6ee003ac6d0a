#include "worker/finetune/lora.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/worker/finetune/finetune_test_util.h"

namespace fc::finetune {
namespace {

using testing::FixedIds;
using testing::MaxAbsDiff;
using testing::TinyConfig;

AdapterConfig Config(model::Arch arch, int64_t r, double alpha) {
  AdapterConfig c;
  c.r = r;
  c.lora_alpha = alpha;
  c.target_modules = DefaultTargetModules(arch);
  return c;
}

// Gives every B a non-zero value so the adapter changes the output.
void RandomizeB(LoraSet& set) {
  torch::NoGradGuard g;
  torch::manual_seed(5);
  auto ps = set.Parameters();
  for (size_t i = 1; i < ps.size(); i += 2) ps[i].normal_(0, 0.5);
}

class LoraArchTest : public ::testing::TestWithParam<model::Arch> {};

TEST_P(LoraArchTest, FreshAdapterWithZeroBLeavesLogitsUnchanged) {
  auto m = model::CreateRandomCausalLM(TinyConfig(GetParam(), 47), 11);
  torch::Tensor ids = FixedIds(2, 9, 47);
  torch::NoGradGuard g;
  torch::Tensor before = m->Forward(ids);
  auto set = LoraSet::Attach(*m, Config(GetParam(), 4, 8), 1);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(MaxAbsDiff(before, m->Forward(ids)), 0.0);
  // A is U(-1/sqrt(in), 1/sqrt(in)), B is 0.
  for (auto& [name, linear] : m->NamedLinears()) {
    if (!linear->lora) continue;
    const double bound = 1.0 / std::sqrt(static_cast<double>(linear->in_features()));
    EXPECT_LE(linear->lora->A.abs().max().item<double>(), bound);
    EXPECT_GT(linear->lora->A.abs().max().item<double>(), 0.5 * bound);
    EXPECT_EQ(linear->lora->B.abs().max().item<double>(), 0.0);
    EXPECT_DOUBLE_EQ(linear->lora->scale, 2.0);
  }
}

TEST_P(LoraArchTest, MergedAndUnmergedAdaptersGiveTheSameLogits) {
  auto m = model::CreateRandomCausalLM(TinyConfig(GetParam(), 47), 12);
  torch::Tensor ids = FixedIds(2, 9, 47);
  torch::NoGradGuard g;
  torch::Tensor base = m->Forward(ids);
  auto set = LoraSet::Attach(*m, Config(GetParam(), 4, 12), 2);
  ASSERT_TRUE(set.ok());
  RandomizeB(**set);
  torch::Tensor adapted = m->Forward(ids);
  EXPECT_GT(MaxAbsDiff(base, adapted), 1e-3);  // the adapter does something
  ASSERT_TRUE((*set)->Merge().ok());
  EXPECT_LT(MaxAbsDiff(adapted, m->Forward(ids)), 1e-4);
  EXPECT_EQ((*set)->Merge().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*set)->Unmerge().ok());
  EXPECT_LT(MaxAbsDiff(adapted, m->Forward(ids)), 1e-4);
  (*set)->Detach();
  EXPECT_LT(MaxAbsDiff(base, m->Forward(ids)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Arches, LoraArchTest, ::testing::Values(model::Arch::kGptNeox, model::Arch::kGpt2));

TEST(LoraSet, FreezesBaseAndCountsTrainableParameters) {
  auto m = model::CreateRandomCausalLM(TinyConfig(model::Arch::kGptNeox, 47), 3);
  for (auto& p : m->module().parameters()) p.set_requires_grad(true);
  auto set = LoraSet::Attach(*m, Config(model::Arch::kGptNeox, 4, 8), 1);
  ASSERT_TRUE(set.ok());
  for (auto& p : m->module().parameters()) EXPECT_FALSE(p.requires_grad());
  for (auto& p : (*set)->Parameters()) EXPECT_TRUE(p.requires_grad());
  // Per layer (d=32, mlp=128): qkv r(32+96), dense r(32+32), h_to_4h r(32+128), 4h_to_h r(128+32).
  const int64_t per_layer = 4 * (128 + 64 + 160 + 160);
  EXPECT_EQ((*set)->TrainableParameterCount(), 2 * per_layer);
  EXPECT_EQ((*set)->Modules().size(), 8u);
}

TEST(LoraSet, RankPatternGivesModulesTheirOwnRankAndScale) {
  auto m = model::CreateRandomCausalLM(TinyConfig(model::Arch::kGptNeox, 47), 3);
  AdapterConfig c = Config(model::Arch::kGptNeox, 2, 4);
  c.rank_pattern[PatternKeyFor("gpt_neox.layers.1.attention.dense")] = 8;
  c.alpha_pattern[PatternKeyFor("gpt_neox.layers.1.attention.dense")] = 32;
  auto set = LoraSet::Attach(*m, c, 1);
  ASSERT_TRUE(set.ok());
  for (auto& [name, linear] : m->NamedLinears()) {
    if (name == "gpt_neox.layers.1.attention.dense") {
      EXPECT_EQ(linear->lora->A.size(0), 8);
      EXPECT_DOUBLE_EQ(linear->lora->scale, 4.0);
    } else if (linear->lora) {
      EXPECT_EQ(linear->lora->A.size(0), 2);
      EXPECT_DOUBLE_EQ(linear->lora->scale, 2.0);
    }
  }
}

TEST(LoraSet, TargetsMatchingNothingAreRejectedNamingTheList) {
  auto m = model::CreateRandomCausalLM(TinyConfig(model::Arch::kGptNeox, 47), 3);
  AdapterConfig c = Config(model::Arch::kGptNeox, 2, 4);
  c.target_modules = {"q_proj", "v_proj"};
  auto set = LoraSet::Attach(*m, c, 1);
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(set.status().message().find("q_proj"), std::string::npos);
}

TEST(LoraSet, DefaultTargetsNeverIncludeTheUnembedding) {
  for (auto arch : {model::Arch::kGptNeox, model::Arch::kGpt2}) {
    auto m = model::CreateRandomCausalLM(TinyConfig(arch, 47), 3);
    auto set = LoraSet::Attach(*m, Config(arch, 2, 4), 1);
    ASSERT_TRUE(set.ok());
    for (const auto& name : (*set)->Modules()) {
      EXPECT_EQ(name.find("embed_out"), std::string::npos);
      EXPECT_EQ(name.find("lm_head"), std::string::npos);
    }
    EXPECT_EQ((*set)->Modules().size(), arch == model::Arch::kGpt2 ? 8u : 8u);
  }
}

}  // namespace
}  // namespace fc::finetune
