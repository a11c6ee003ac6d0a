// Shared helpers of the fc_finetune tests: a tiny GPT-NeoX / GPT-2, a tiny addition task
// ("a+b=\n" -> the single token of a+b) tokenized with the char tokenizer, and a temp dir.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/finetune/examples.h"
#include "worker/finetune/loss.h"
#include "worker/model/causal_lm.h"
#include "worker/model/config.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::finetune::testing {

// One intra-op thread: CI runs suites side by side on 2 cores, where OpenMP threads spinning
// against each other made steps ~10x slower; one thread is also the configuration the
// bit-for-bit expectations were measured in.
[[maybe_unused]] static const bool kSingleThread = (torch::set_num_threads(1), true);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fc_finetune_test_XXXXXX").string();
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

inline std::unique_ptr<text::Tokenizer> TinyTokenizer() {
  text::CharTokenizerOptions o;
  o.max_number_token = 40;
  return text::MakeCharTokenizer("0123456789+-=\n", o);
}

inline model::ModelConfig TinyConfig(model::Arch arch, int64_t vocab, int64_t d_model = 32, int64_t layers = 2) {
  nlohmann::json j;
  if (arch == model::Arch::kGpt2) {
    j = {{"model_type", "gpt2"}, {"n_embd", d_model}, {"n_head", 4}, {"n_layer", layers}, {"n_positions", 32},
         {"n_inner", nullptr}, {"vocab_size", vocab}, {"layer_norm_epsilon", 1e-5},
         {"activation_function", "gelu_new"}, {"initializer_range", 0.02}};
  } else {
    j = {{"model_type", "gpt_neox"}, {"hidden_size", d_model}, {"num_attention_heads", 4},
         {"num_hidden_layers", layers}, {"intermediate_size", 4 * d_model}, {"rotary_pct", 0.5},
         {"rotary_emb_base", 10000}, {"use_parallel_residual", true}, {"layer_norm_eps", 1e-5},
         {"max_position_embeddings", 32}, {"vocab_size", vocab}, {"tie_word_embeddings", false},
         {"hidden_act", "gelu"}, {"bos_token_id", 0}, {"eos_token_id", 0}, {"initializer_range", 0.02}};
  }
  auto c = model::ParseModelConfig(j, "tiny config.json");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

// Rows "a+b=\n" -> a+b for a, b in [0, max_operand]; every third row (by a fixed rule) goes to
// the held-out split. Train rows are prompt + answer + EOS with -100 on the prompt.
struct TinyTask {
  std::vector<TrainExample> train;
  std::vector<EvalExample> heldout;
};

inline TinyTask MakeTinyTask(const text::Tokenizer& tok, int64_t max_operand = 9) {
  TinyTask t;
  const int64_t eos = *tok.eos_id();
  for (int64_t a = 0; a <= max_operand; ++a) {
    for (int64_t b = 0; b <= max_operand; ++b) {
      std::vector<int64_t> prompt = tok.Encode(std::to_string(a) + "+" + std::to_string(b) + "=\n");
      std::vector<int64_t> answer = tok.Encode(std::to_string(a + b));
      if ((a * 7 + b * 3) % 5 == 0) {
        t.heldout.push_back(EvalExample{prompt, answer});
        continue;
      }
      TrainExample ex;
      ex.ids = prompt;
      ex.ids.insert(ex.ids.end(), answer.begin(), answer.end());
      ex.ids.push_back(eos);
      ex.labels.assign(prompt.size(), kIgnoreLabel);
      ex.labels.insert(ex.labels.end(), answer.begin(), answer.end());
      ex.labels.push_back(eos);
      t.train.push_back(std::move(ex));
    }
  }
  return t;
}

inline double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Deterministic ids [B,P] in [0, vocab).
inline torch::Tensor FixedIds(int64_t b, int64_t p, int64_t vocab) {
  return torch::arange(b * p, torch::kInt64).reshape({b, p}).mul(7).remainder(vocab);
}

}  // namespace fc::finetune::testing
