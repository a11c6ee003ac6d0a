#include "worker/model/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/worker/model/model_test_util.h"

namespace fc::model {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::TinyGpt2Json;
using testing::TinyNeoxJson;

// Pythia-1.4b's config.json as published (transformers 4.24 era fields).
json Pythia14bJson() {
  return json::parse(R"({
    "architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0, "eos_token_id": 0,
    "hidden_act": "gelu", "hidden_size": 2048, "initializer_range": 0.02,
    "intermediate_size": 8192, "layer_norm_eps": 1e-05, "max_position_embeddings": 2048,
    "model_type": "gpt_neox", "num_attention_heads": 16, "num_hidden_layers": 24,
    "rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": false,
    "torch_dtype": "float16", "transformers_version": "4.24.0", "use_cache": true,
    "use_parallel_residual": true, "vocab_size": 50304})");
}

TEST(ModelConfig, ParsesPythia14b) {
  auto c = ParseModelConfig(Pythia14bJson(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, Arch::kGptNeox);
  EXPECT_EQ(c->n_layers, 24);
  EXPECT_EQ(c->n_heads, 16);
  EXPECT_EQ(c->d_model, 2048);
  EXPECT_EQ(c->d_head, 128);
  EXPECT_EQ(c->d_mlp, 8192);
  EXPECT_EQ(c->vocab_size, 50304);
  EXPECT_EQ(c->rotary_dim(), 32);
  EXPECT_TRUE(c->parallel_residual);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_EQ(c->activation, Activation::kGeluErf);
  EXPECT_EQ(c->n_forward(), 409);
  EXPECT_EQ(c->n_backward(), 1177);
}

TEST(ModelConfig, NewerNeoxFieldsRopeThetaPartialRotaryAndNullRopeScalingAreAccepted) {
  json j = Pythia14bJson();
  j.erase("rotary_emb_base");
  j["rope_theta"] = 500.0;
  j["rope_scaling"] = nullptr;
  j["attention_bias"] = true;
  j.erase("rotary_pct");
  j["partial_rotary_factor"] = 0.5;
  auto c = ParseModelConfig(j, "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_DOUBLE_EQ(c->rotary_base, 500.0);
  EXPECT_EQ(c->rotary_dim(), 64);
}

TEST(ModelConfig, ParsesGpt2SmallWithNullInnerAndNctx) {
  json j = json::parse(R"({"activation_function": "gelu_new", "model_type": "gpt2",
    "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_inner": null, "n_layer": 12,
    "layer_norm_epsilon": 1e-05, "vocab_size": 50257, "bos_token_id": 50256,
    "eos_token_id": 50256})");
  auto c = ParseModelConfig(j, "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, Arch::kGpt2);
  EXPECT_EQ(c->d_mlp, 4 * 768);
  EXPECT_EQ(c->max_positions, 1024);
  EXPECT_EQ(c->activation, Activation::kGeluTanh);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_FALSE(c->parallel_residual);
  EXPECT_EQ(c->n_forward(), 157);  // 158 nodes incl. logits
}

struct ErrorCase {
  const char* what;
  json config;
  const char* expect;
};

TEST(ModelConfig, ErrorsNameTheSourceAndTheField) {
  auto without = [](json j, const char* key) { j.erase(key); return j; };
  auto with = [](json j, const char* key, json v) { j[key] = v; return j; };
  std::vector<ErrorCase> cases = {
      {"unknown type", with(TinyNeoxJson(), "model_type", "llama"), "field 'model_type' = 'llama'"},
      {"no type", without(TinyNeoxJson(), "model_type"), "'model_type'"},
      {"neox missing", without(TinyNeoxJson(), "rotary_pct"), "missing field 'rotary_pct'"},
      {"neox no base", without(TinyNeoxJson(), "rotary_emb_base"), "'rotary_emb_base'"},
      {"gpt2 missing", without(TinyGpt2Json(), "n_embd"), "missing field 'n_embd'"},
      {"wrong type", with(TinyNeoxJson(), "hidden_size", "32"), "field 'hidden_size' must be an integer"},
      {"rope scaling", with(TinyNeoxJson(), "rope_scaling", json{{"type", "linear"}, {"factor", 2}}),
       "field 'rope_scaling'"},
      {"attention bias", with(TinyNeoxJson(), "attention_bias", false), "'attention_bias' = false"},
      {"activation", with(TinyNeoxJson(), "hidden_act", "relu"), "field 'hidden_act' = 'relu'"},
      {"heads", with(TinyNeoxJson(), "num_attention_heads", 5), "not divisible"},
      {"odd rotary", with(TinyNeoxJson(), "rotary_pct", 0.375), "rotary_dim"},
      {"gpt2 upcast", with(TinyGpt2Json(), "reorder_and_upcast_attn", true), "'reorder_and_upcast_attn'"},
      {"gpt2 untied", with(TinyGpt2Json(), "tie_word_embeddings", false), "'tie_word_embeddings'"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.config, "/models/x/config.json");
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(r.status().message().find("/models/x/config.json"), std::string::npos) << c.what;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << r.status().message();
  }
}

TEST(ModelConfig, ReadFileErrors) {
  TempDir dir;
  EXPECT_EQ(ReadModelConfig(dir / "config.json").status().code(), StatusCode::kNotFound);
  std::ofstream(dir / "config.json") << "{ not json";
  auto r = ReadModelConfig(dir / "config.json");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(dir / "config.json"), std::string::npos);
}

TEST(ModelConfig, JsonRoundTripKeepsFieldsAndUnknownKeys) {
  for (json j : {Pythia14bJson(), TinyGpt2Json(), TinyNeoxJson(false)}) {
    j["some_future_field"] = "kept";
    auto c = ParseModelConfig(j, "a");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    json out = ModelConfigToJson(*c);
    EXPECT_EQ(out["some_future_field"], "kept");
    auto back = ParseModelConfig(out, "b");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->arch, c->arch);
    EXPECT_EQ(back->d_model, c->d_model);
    EXPECT_EQ(back->d_mlp, c->d_mlp);
    EXPECT_EQ(back->n_layers, c->n_layers);
    EXPECT_EQ(back->parallel_residual, c->parallel_residual);
    EXPECT_EQ(back->rotary_dim(), c->rotary_dim());
    EXPECT_EQ(back->activation, c->activation);
    EXPECT_DOUBLE_EQ(back->layer_norm_eps, c->layer_norm_eps);
  }
}

}  // namespace
}  // namespace fc::model
