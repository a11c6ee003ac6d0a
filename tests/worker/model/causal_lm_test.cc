#include "worker/model/causal_lm.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/worker/model/model_test_util.h"
#include "worker/model/safetensors.h"

namespace fc::model {
namespace {

using testing::MaxAbsDiff;
using testing::MustParse;
using testing::RandomIds;
using testing::TempDir;

struct ArchCase {
  const char* name;
  nlohmann::json config;
};

std::vector<ArchCase> Archs() {
  return {{"neox_parallel", testing::TinyNeoxJson(true)},
          {"neox_sequential", testing::TinyNeoxJson(false)},
          {"gpt2", testing::TinyGpt2Json()}};
}

torch::Tensor Logits(CausalLM& m, const torch::Tensor& ids) {
  torch::NoGradGuard g;
  return m.Forward(ids);
}

// Rounds every parameter through `dtype`, so a file written in `dtype` loads back equal.
void RoundParams(CausalLM& m, torch::Dtype dtype) {
  torch::NoGradGuard g;
  for (auto& [name, p] : m.NamedParameters()) p.copy_(p.to(dtype).to(p.scalar_type()));
}

TEST(CausalLM, SaveLoadRoundTripGivesSameLogitsForEveryArchAndFileDtype) {
  const torch::Tensor ids = RandomIds(2, 7, 50, 11);
  for (const auto& arch : Archs()) {
    for (torch::Dtype file_dtype : {torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
      SCOPED_TRACE(std::string(arch.name) + " " + std::string(c10::toString(file_dtype)));
      TempDir dir;
      auto model = CreateRandomCausalLM(MustParse(arch.config), 5);
      ASSERT_TRUE(SaveCausalLM(*model, dir.path(), file_dtype).ok());
      RoundParams(*model, file_dtype);
      auto loaded = LoadCausalLM(dir.path(), torch::kCPU, torch::kFloat32);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      EXPECT_EQ((*loaded)->config().arch, model->config().arch);
      const torch::Tensor a = Logits(*model, ids), b = Logits(**loaded, ids);
      EXPECT_EQ(b.sizes(), (std::vector<int64_t>{2, 7, 50}));
      EXPECT_LT(MaxAbsDiff(a, b), 1e-6);
      EXPECT_GT(a.std().item<double>(), 0.1);  // the comparison is not between flat logits
    }
  }
}

// LibTorch 1.13 has no float16 matmul on CPU (2.x does); float16 is then a GPU-only dtype.
bool CpuHalfMatmulWorks() {
  try {
    torch::ones({2, 2}, torch::kFloat16).matmul(torch::ones({2, 2}, torch::kFloat16));
    return true;
  } catch (const c10::Error&) {
    return false;
  }
}

TEST(CausalLM, Bf16AndF16ModelsTrackFloat32) {
  TempDir dir;
  const torch::Tensor ids = RandomIds(2, 6, 50, 3);
  for (const auto& arch : Archs()) {
    SCOPED_TRACE(arch.name);
    auto model = CreateRandomCausalLM(MustParse(arch.config), 9);
    ASSERT_TRUE(SaveCausalLM(*model, dir.path()).ok());
    const torch::Tensor ref = Logits(*model, ids);
    for (torch::Dtype dtype : {torch::kBFloat16, torch::kFloat16}) {
      if (dtype == torch::kFloat16 && !CpuHalfMatmulWorks()) continue;  // LibTorch 1.13 CPU
      auto low = LoadCausalLM(dir.path(), torch::kCPU, dtype);
      ASSERT_TRUE(low.ok()) << low.status().ToString();
      EXPECT_EQ((*low)->dtype(), dtype);
      const torch::Tensor got = Logits(**low, ids);
      EXPECT_EQ(got.scalar_type(), dtype);
      EXPECT_LT(MaxAbsDiff(got, ref), 0.1 * ref.abs().max().item<double>());
    }
  }
}

TEST(CausalLM, ShardedCheckpointLoads) {
  TempDir dir, sharded;
  auto model = CreateRandomCausalLM(MustParse(testing::TinyNeoxJson()), 2);
  ASSERT_TRUE(SaveCausalLM(*model, dir.path()).ok());
  NamedTensors tensors;
  for (auto& [name, p] : model->NamedParameters()) tensors.emplace_back(name, p);
  ASSERT_TRUE(WriteShardedSafetensors(sharded.path(), tensors, 8000).ok());
  std::filesystem::copy_file(dir / "config.json", sharded / "config.json");
  ASSERT_FALSE(std::filesystem::exists(sharded / "model.safetensors"));
  auto loaded = LoadCausalLM(sharded.path(), torch::kCPU, torch::kFloat32);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const torch::Tensor ids = RandomIds(1, 5, 50, 1);
  EXPECT_LT(MaxAbsDiff(Logits(*model, ids), Logits(**loaded, ids)), 1e-7);
}

// Rewrites dir/model.safetensors through `edit`, reading it back as a name -> tensor list.
void EditFile(const TempDir& dir, const std::function<void(NamedTensors&)>& edit) {
  auto file = SafetensorsFile::Open(dir / "model.safetensors");
  ASSERT_TRUE(file.ok());
  NamedTensors tensors;
  for (const auto& t : (*file)->tensors()) tensors.emplace_back(t.name, (*file)->View(t.name)->clone());
  file->reset();
  edit(tensors);
  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", tensors).ok());
}

TEST(CausalLM, Gpt2LoadsBareNamesWithMaskBuffersAndLmHead) {
  TempDir dir;
  auto model = CreateRandomCausalLM(MustParse(testing::TinyGpt2Json()), 4);
  ASSERT_TRUE(SaveCausalLM(*model, dir.path()).ok());
  EditFile(dir, [](NamedTensors& ts) {
    torch::Tensor wte;
    for (auto& [name, t] : ts) {
      ASSERT_EQ(name.rfind("transformer.", 0), 0u) << name;
      name = name.substr(12);  // bare "h.0.attn.c_attn.weight", like the original gpt2 files
      if (name == "wte.weight") wte = t;
    }
    ts.emplace_back("h.0.attn.bias", torch::ones({1, 1, 64, 64}));
    ts.emplace_back("h.0.attn.masked_bias", torch::tensor(-1e4f));
    ts.emplace_back("lm_head.weight", wte.clone());
  });
  auto loaded = LoadCausalLM(dir.path(), torch::kCPU, torch::kFloat32);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const torch::Tensor ids = RandomIds(2, 5, 50, 8);
  EXPECT_LT(MaxAbsDiff(Logits(*model, ids), Logits(**loaded, ids)), 1e-7);
}

TEST(CausalLM, Gpt2FileHoldsConv1DLayout) {
  TempDir dir;
  auto model = CreateRandomCausalLM(MustParse(testing::TinyGpt2Json()), 4);
  ASSERT_TRUE(SaveCausalLM(*model, dir.path()).ok());
  auto file = SafetensorsFile::Open(dir / "model.safetensors");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->Find("transformer.h.0.attn.c_attn.weight")->shape,
            (std::vector<int64_t>{32, 96}));  // [in, out]
  EXPECT_EQ((*file)->Find("transformer.h.1.mlp.c_proj.weight")->shape,
            (std::vector<int64_t>{128, 32}));
  EXPECT_EQ((*file)->Find("lm_head.weight"), nullptr);  // tied, as HF saves it
}

TEST(CausalLM, MissingWrongShapeAndUnknownTensorsAreNamed) {
  auto model = CreateRandomCausalLM(MustParse(testing::TinyNeoxJson()), 1);
  const std::string victim = "gpt_neox.layers.1.mlp.dense_4h_to_h.weight";
  {
    TempDir dir;
    ASSERT_TRUE(SaveCausalLM(*model, dir.path()).ok());
    EditFile(dir, [&](NamedTensors& ts) {
      ts.erase(std::remove_if(ts.begin(), ts.end(), [&](auto& nt) { return nt.first == victim; }),
               ts.end());
    });
    auto r = LoadCausalLM(dir.path(), torch::kCPU, torch::kFloat32);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_NE(r.status().message().find("missing tensor '" + victim + "'"), std::string::npos);
    EXPECT_NE(r.status().message().find(dir / "model.safetensors"), std::string::npos);
  }
  {
    TempDir dir;
    ASSERT_TRUE(SaveCausalLM(*model, dir.path()).ok());
    EditFile(dir, [&](NamedTensors& ts) {
      for (auto& [name, t] : ts) {
        if (name == victim) t = torch::zeros({32, 63});
      }
    });
    auto r = LoadCausalLM(dir.path(), torch::kCPU, torch::kFloat32);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("'" + victim + "' has shape 32x63, expected 32x64"),
              std::string::npos)
        << r.status().message();
  }
  {
    TempDir dir;
    ASSERT_TRUE(SaveCausalLM(*model, dir.path()).ok());
    EditFile(dir, [&](NamedTensors& ts) { ts.emplace_back("transformer.h.0.ln_1.weight", torch::ones({32})); });
    auto r = LoadCausalLM(dir.path(), torch::kCPU, torch::kFloat32);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("unexpected tensor 'transformer.h.0.ln_1.weight'"),
              std::string::npos);
  }
  {
    TempDir dir;
    auto r = LoadCausalLM(dir.path(), torch::kCPU, torch::kFloat32);
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_NE(r.status().message().find("config.json"), std::string::npos);
  }
}

TEST(CausalLM, RandomCreationIsDeterministicPerSeed) {
  const ModelConfig c = MustParse(testing::TinyNeoxJson());
  auto a = CreateRandomCausalLM(c, 7), b = CreateRandomCausalLM(c, 7), d = CreateRandomCausalLM(c, 8);
  auto pa = a->NamedParameters(), pb = b->NamedParameters(), pd = d->NamedParameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool any_diff = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i].second, pb[i].second)) << pa[i].first;
    EXPECT_FALSE(pa[i].second.requires_grad()) << pa[i].first;
    any_diff |= !torch::equal(pa[i].second, pd[i].second);
  }
  EXPECT_TRUE(any_diff);
}

TEST(CausalLM, ParameterAndLinearNamesAreHfNames) {
  auto neox = CreateRandomCausalLM(MustParse(testing::TinyNeoxJson()), 1);
  std::vector<std::string> names;
  for (auto& [n, p] : neox->NamedParameters()) names.push_back(n);
  for (const char* want : {"gpt_neox.embed_in.weight", "gpt_neox.layers.0.input_layernorm.weight",
                           "gpt_neox.layers.1.attention.query_key_value.bias",
                           "gpt_neox.layers.1.post_attention_layernorm.bias",
                           "gpt_neox.final_layer_norm.weight", "embed_out.weight"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  EXPECT_EQ(names.size(), 1 + 2 * 12 + 2 + 1u);
  auto linears = neox->NamedLinears();
  ASSERT_EQ(linears.size(), 8u);
  EXPECT_EQ(linears[0].first, "gpt_neox.layers.0.attention.query_key_value");
  EXPECT_EQ(linears[7].first, "gpt_neox.layers.1.mlp.dense_4h_to_h");
  auto gpt2 = CreateRandomCausalLM(MustParse(testing::TinyGpt2Json()), 1);
  EXPECT_EQ(gpt2->NamedLinears()[1].first, "transformer.h.0.attn.c_proj");
  EXPECT_EQ(gpt2->NamedParameters().front().first, "transformer.wte.weight");
}

TEST(CausalLM, TrailingPadsDoNotChangeRealPositions) {
  for (const auto& arch : Archs()) {
    auto model = CreateRandomCausalLM(MustParse(arch.config), 6);
    torch::Tensor ids = RandomIds(1, 4, 50, 2);
    torch::Tensor padded = torch::cat({ids, torch::zeros({1, 3}, torch::kInt64)}, 1);
    using torch::indexing::Slice;
    EXPECT_LT(MaxAbsDiff(Logits(*model, ids), Logits(*model, padded).index({Slice(), Slice(0, 4)})),
              1e-5)
        << arch.name;
  }
}

TEST(CausalLM, LoraAdapterChangesTheLinearByScaleBA) {
  auto model = CreateRandomCausalLM(MustParse(testing::TinyNeoxJson()), 1);
  Linear lin = model->NamedLinears()[0].second;  // query_key_value [96, 32]
  torch::Tensor x = torch::randn({3, 32});
  torch::Tensor before = lin(x);
  auto lora = std::make_shared<LoraAdapter>();
  lora->A = torch::randn({2, 32});
  lora->B = torch::randn({96, 2});
  lora->scale = 0.5;
  lin->lora = lora;
  torch::Tensor after = lin(x);
  torch::Tensor want = before + 0.5 * x.matmul(lora->A.t()).matmul(lora->B.t());
  EXPECT_LT(MaxAbsDiff(after, want), 1e-5);
  EXPECT_LT(MaxAbsDiff(torch::nn::functional::linear(x, lin->EffectiveWeight(), lin->bias), want),
            1e-5);
}

}  // namespace
}  // namespace fc::model
