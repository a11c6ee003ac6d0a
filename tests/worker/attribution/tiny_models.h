// Tiny random models and data shared by the attribution tests (2 layers, 4 heads, d_model 32,
// vocab 50, both architectures).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <random>
#include <vector>

#include "worker/attribution/batch.h"
#include "worker/model/causal_lm.h"
#include "worker/model/config.h"

namespace fc::attribution::testing {

inline model::ModelConfig TinyConfig(model::Arch arch, double init = 0.1) {
  model::ModelConfig c;
  c.arch = arch;
  c.n_layers = 2;
  c.n_heads = 4;
  c.d_model = 32;
  c.d_head = 8;
  c.d_mlp = 128;
  c.vocab_size = 50;
  c.max_positions = 64;
  c.layer_norm_eps = 1e-5;
  c.initializer_range = init;
  if (arch == model::Arch::kGptNeox) {
    c.parallel_residual = true;
    c.rotary_pct = 0.25;
    c.rotary_base = 10000;
    c.tie_word_embeddings = false;
    c.activation = model::Activation::kGeluErf;
  } else {
    c.parallel_residual = false;
    c.tie_word_embeddings = true;
    c.activation = model::Activation::kGeluTanh;
    c.bos_token_id = c.eos_token_id = 49;
  }
  return c;
}

inline std::unique_ptr<model::CausalLM> TinyModel(model::Arch arch, uint64_t seed = 7,
                                                  double init = 0.1) {
  return model::CreateRandomCausalLM(TinyConfig(arch, init), seed);
}

// Rows of varying length (BOS 0 first); the corrupted row differs from the clean one in
// `changed` random positions after BOS. Labels / incorrect tokens are random.
inline std::vector<TokenizedRow> TinyRows(int n, uint32_t seed, int min_len = 5, int max_len = 8,
                                          int changed = 2, int64_t vocab = 50) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> tok(1, vocab - 1);
  std::uniform_int_distribution<int> len(min_len, max_len);
  std::vector<TokenizedRow> rows;
  for (int i = 0; i < n; ++i) {
    TokenizedRow r;
    const int l = len(rng);
    r.clean.push_back(0);
    for (int p = 1; p < l; ++p) r.clean.push_back(tok(rng));
    r.corrupted = r.clean;
    std::uniform_int_distribution<int> pos(1, l - 1);
    for (int c = 0; c < changed; ++c) r.corrupted[pos(rng)] = tok(rng);
    r.label = tok(rng);
    do { r.incorrect = tok(rng); } while (r.incorrect == r.label);
    rows.push_back(std::move(r));
  }
  return rows;
}

inline std::vector<Batch> TinyBatches(int n, int batch_size, uint32_t seed, int changed = 2) {
  auto b = MakeBatches(TinyRows(n, seed, 5, 8, changed), batch_size, /*pad_id=*/0);
  return std::move(b).value();
}

// Pearson correlation of two equally long float tensors.
inline double Pearson(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor x = a.flatten().to(torch::kDouble), y = b.flatten().to(torch::kDouble);
  x = x - x.mean();
  y = y - y.mean();
  return ((x * y).sum() / (x.norm() * y.norm())).item<double>();
}

// Spearman rank correlation (no tie correction; ties are measure-zero for float scores).
inline double Spearman(const torch::Tensor& a, const torch::Tensor& b) {
  auto rank = [](const torch::Tensor& t) {
    return t.flatten().argsort().argsort().to(torch::kDouble);
  };
  return Pearson(rank(a), rank(b));
}

}  // namespace fc::attribution::testing
