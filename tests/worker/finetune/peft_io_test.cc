#include "worker/finetune/peft_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/worker/finetune/finetune_test_util.h"
#include "worker/finetune/lora.h"
#include "worker/model/safetensors.h"

namespace fc::finetune {
namespace {

using testing::FixedIds;
using testing::MaxAbsDiff;
using testing::TempDir;
using testing::TinyConfig;

std::unique_ptr<LoraSet> TrainedLookingAdapter(model::CausalLM& m, model::Arch arch) {
  AdapterConfig c;
  c.r = 4;
  c.lora_alpha = 16;
  c.target_modules = DefaultTargetModules(arch);
  c.base_model_name_or_path = "tiny";
  c.fan_in_fan_out = arch == model::Arch::kGpt2;
  auto set = LoraSet::Attach(m, c, 9);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  torch::NoGradGuard g;
  torch::manual_seed(4);
  auto ps = (*set)->Parameters();
  for (size_t i = 1; i < ps.size(); i += 2) ps[i].normal_(0, 0.3);
  return std::move(set).value();
}

class PeftIoTest : public ::testing::TestWithParam<model::Arch> {};

TEST_P(PeftIoTest, AdapterWrittenHereReadsBackIdentically) {
  const model::Arch arch = GetParam();
  auto m = model::CreateRandomCausalLM(TinyConfig(arch, 47), 1);
  auto set = TrainedLookingAdapter(*m, arch);
  TempDir dir;
  ASSERT_TRUE(set->Save(dir.path()).ok());
  // PEFT tensor names, [r,in] / [out,r] shapes (GPT-2 Conv1D included).
  auto file = model::SafetensorsFile::Open(dir / kAdapterWeightsFile);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const std::string first = arch == model::Arch::kGpt2 ? "transformer.h.0.attn.c_attn" : "gpt_neox.layers.0.attention.query_key_value";
  const auto* a = (*file)->Find("base_model.model." + first + ".lora_A.weight");
  const auto* b = (*file)->Find("base_model.model." + first + ".lora_B.weight");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{4, 32}));
  EXPECT_EQ(b->shape, (std::vector<int64_t>{96, 4}));
  EXPECT_EQ((*file)->tensors().size(), 2 * set->Modules().size());
  EXPECT_EQ((*file)->metadata().at("format"), "pt");

  auto back = ReadPeftAdapter(dir.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  PeftAdapter orig = set->ToPeft();
  EXPECT_EQ(AdapterConfigToJson(back->config), AdapterConfigToJson(orig.config));
  EXPECT_EQ(back->config.fan_in_fan_out, arch == model::Arch::kGpt2);
  ASSERT_EQ(back->modules.size(), orig.modules.size());
  for (const auto& [name, t] : orig.modules) {
    EXPECT_TRUE(torch::equal(back->modules.at(name).A, t.A)) << name;
    EXPECT_TRUE(torch::equal(back->modules.at(name).B, t.B)) << name;
  }
  // Loading it onto a fresh copy of the base reproduces the adapted logits exactly.
  torch::NoGradGuard g;
  torch::Tensor ids = FixedIds(2, 7, 47);
  torch::Tensor adapted = m->Forward(ids);
  auto fresh = model::CreateRandomCausalLM(TinyConfig(arch, 47), 1);
  auto loaded = LoraSet::Load(*fresh, dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(MaxAbsDiff(adapted, fresh->Forward(ids)), 0.0);
  // Merging with the config's alpha/r (4.0 here, not the original's hard-coded 2.0).
  auto merged = model::CreateRandomCausalLM(TinyConfig(arch, 47), 1);
  ASSERT_TRUE(MergeAdapterIntoModel(*merged, dir.path()).ok());
  EXPECT_LT(MaxAbsDiff(adapted, merged->Forward(ids)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Arches, PeftIoTest, ::testing::Values(model::Arch::kGptNeox, model::Arch::kGpt2));

TEST(PeftIo, AcceptsTheDefaultAdapterNameVariant) {
  TempDir dir;
  AdapterConfig c;
  c.r = 2;
  c.target_modules = {"dense"};
  ASSERT_TRUE(WriteAdapterConfig(c, dir.path()).ok());
  model::NamedTensors t = {
      {"base_model.model.gpt_neox.layers.0.attention.dense.lora_A.default.weight", torch::ones({2, 32})},
      {"base_model.model.gpt_neox.layers.0.attention.dense.lora_B.default.weight", torch::zeros({32, 2})}};
  ASSERT_TRUE(model::WriteSafetensors(dir / kAdapterWeightsFile, t).ok());
  auto back = ReadPeftAdapter(dir.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->modules.count("gpt_neox.layers.0.attention.dense"), 1u);
  EXPECT_TRUE(torch::equal(back->modules.at("gpt_neox.layers.0.attention.dense").A, torch::ones({2, 32})));
}

TEST(PeftIo, PickleAdapterIsRejectedNamingTheFile) {
  TempDir dir;
  std::ofstream(dir / "adapter_model.bin") << "not readable";
  auto r = ReadPeftAdapter(dir.path());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("adapter_model.bin"), std::string::npos) << r.status().ToString();
}

TEST(PeftIo, MismatchedRankOrMissingHalfIsDataLoss) {
  TempDir dir;
  AdapterConfig c;
  c.r = 4;
  c.target_modules = {"dense"};
  ASSERT_TRUE(WriteAdapterConfig(c, dir.path()).ok());
  model::NamedTensors t = {{"base_model.model.x.dense.lora_A.weight", torch::ones({2, 8})},
                           {"base_model.model.x.dense.lora_B.weight", torch::ones({8, 2})}};
  ASSERT_TRUE(model::WriteSafetensors(dir / kAdapterWeightsFile, t).ok());
  auto r = ReadPeftAdapter(dir.path());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("x.dense"), std::string::npos);
  model::NamedTensors half = {{"base_model.model.x.dense.lora_A.weight", torch::ones({4, 8})}};
  ASSERT_TRUE(model::WriteSafetensors(dir / kAdapterWeightsFile, half).ok());
  EXPECT_EQ(ReadPeftAdapter(dir.path()).status().code(), StatusCode::kDataLoss);
}

TEST(PeftIo, AdapterForAnotherModelIsRejected) {
  auto m = model::CreateRandomCausalLM(TinyConfig(model::Arch::kGptNeox, 47), 1);
  PeftAdapter a;
  a.config.r = 2;
  a.config.target_modules = {"dense"};
  a.modules["gpt_neox.layers.7.attention.dense"] = AdapterTensors{torch::zeros({2, 32}), torch::zeros({32, 2})};
  auto r = LoraSet::FromAdapter(*m, a);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("layers.7"), std::string::npos);
}

}  // namespace
}  // namespace fc::finetune
