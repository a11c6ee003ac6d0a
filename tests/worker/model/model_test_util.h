// Shared helpers of the fc_model tests: tiny configs built from config.json text (so the parser
// is exercised too) and a self-deleting temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "worker/model/config.h"

namespace fc::model::testing {

// 2 layers, 4 heads of 8 dims, rotary on 4 of them (rotary_pct 0.5).
inline nlohmann::json TinyNeoxJson(bool parallel = true) {
  return {{"model_type", "gpt_neox"},   {"hidden_size", 32},
          {"num_attention_heads", 4},   {"num_hidden_layers", 2},
          {"intermediate_size", 64},    {"rotary_pct", 0.5},
          {"rotary_emb_base", 10000},   {"use_parallel_residual", parallel},
          {"layer_norm_eps", 1e-5},     {"max_position_embeddings", 64},
          {"vocab_size", 50},           {"tie_word_embeddings", false},
          {"hidden_act", "gelu"},       {"bos_token_id", 0},
          {"eos_token_id", 0},          {"initializer_range", 0.2}};
}

inline nlohmann::json TinyGpt2Json() {
  return {{"model_type", "gpt2"},   {"n_embd", 32},   {"n_head", 4},
          {"n_layer", 2},           {"n_positions", 64}, {"n_inner", nullptr},
          {"vocab_size", 50},       {"layer_norm_epsilon", 1e-5},
          {"activation_function", "gelu_new"}, {"initializer_range", 0.2}};
}

inline ModelConfig MustParse(const nlohmann::json& j) {
  auto c = ParseModelConfig(j, "test config.json");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fc_model_test_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Deterministic token ids [B,P] in [0, vocab).
inline torch::Tensor RandomIds(int64_t b, int64_t p, int64_t vocab, uint64_t seed) {
  torch::Tensor ids = torch::empty({b, p}, torch::kInt64);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  auto a = ids.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j < p; ++j) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      a[i][j] = static_cast<int64_t>((s >> 33) % static_cast<uint64_t>(vocab));
    }
  }
  return ids;
}

inline double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace fc::model::testing
