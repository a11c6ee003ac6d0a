// Building blocks shared by gpt_neox.cc and gpt2.cc: LayerNorm and Embedding modules (so that
// parameter names come out as HF's "<module>.weight"), GELU variants, NeoX rotary embedding and
// causal self-attention. Shapes: B batch, P positions, H heads, Dh head dim, D model dim.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>

#include "worker/model/config.h"

namespace fc::model {

// y = (x - mean) / sqrt(var + eps) * weight + bias over the last dim. Statistics are computed in
// float32 for low-precision inputs; the result has x's dtype.
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps, torch::TensorOptions options);
  torch::Tensor forward(const torch::Tensor& x);  // [..., D] -> [..., D]
  torch::Tensor weight;  // [D]
  torch::Tensor bias;    // [D]
  double eps;
};
TORCH_MODULE(LayerNorm);

// A lookup table registered as "weight" [num, dim].
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num, int64_t dim, torch::TensorOptions options);
  torch::Tensor forward(const torch::Tensor& ids);  // [B,P] int64 -> [B,P,dim]
  torch::Tensor weight;
};
TORCH_MODULE(Embedding);

// Exact erf GELU or the tanh approximation (GPT-2 gelu_new).
torch::Tensor Gelu(const torch::Tensor& x, Activation activation);

// NeoX rotary tables for positions 0..P-1: cos, sin of [P, rotary_dim] in float32, laid out as
// cat(freqs, freqs) (the "rotate-half" convention), freqs[p,i] = p / base^(2i/rotary_dim).
std::pair<torch::Tensor, torch::Tensor> RotaryTables(int64_t positions, int64_t rotary_dim,
                                                     double base, torch::Device device);
// Applies the rotation to the first rotary_dim dims of x [B,P,H,Dh]; the rest pass through.
// x_rot * cos + rotate_half(x_rot) * sin, rotate_half(a|b) = (-b|a).
torch::Tensor ApplyRotary(const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, int64_t rotary_dim);

// Causal softmax(q k^T / sqrt(Dh)) v with scores and softmax in float32.
// q, k, v: [B,P,H,Dh] -> z [B,P,H,Dh] in v's dtype.
torch::Tensor CausalSelfAttention(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v);

}  // namespace fc::model
