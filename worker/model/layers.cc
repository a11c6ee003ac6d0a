#include "worker/model/layers.h"

#include <cmath>
#include <limits>

namespace fc::model {

LayerNormImpl::LayerNormImpl(int64_t dim, double eps, torch::TensorOptions options) : eps(eps) {
  weight = register_parameter("weight", torch::empty({dim}, options), false);
  bias = register_parameter("bias", torch::empty({dim}, options), false);
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  const int64_t d = x.size(-1);
  if (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64) {
    return torch::layer_norm(x, {d}, weight, bias, eps);
  }
  // bf16/f16: normalise in float32 so the statistics do not lose precision.
  return torch::layer_norm(x.to(torch::kFloat32), {d}, weight.to(torch::kFloat32),
                           bias.to(torch::kFloat32), eps)
      .to(x.scalar_type());
}

EmbeddingImpl::EmbeddingImpl(int64_t num, int64_t dim, torch::TensorOptions options) {
  weight = register_parameter("weight", torch::empty({num, dim}, options), false);
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) {
  return torch::embedding(weight, ids);  // [B,P,dim]
}

torch::Tensor Gelu(const torch::Tensor& x, Activation activation) {
  if (activation == Activation::kGeluErf) return torch::gelu(x);
  // gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  return torch::gelu(x, "tanh");
}

std::pair<torch::Tensor, torch::Tensor> RotaryTables(int64_t positions, int64_t rotary_dim,
                                                     double base, torch::Device device) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  // inv_freq[i] = 1 / base^(2i / rotary_dim), i < rotary_dim/2   (HF GPTNeoXRotaryEmbedding)
  torch::Tensor exponents = torch::arange(0, rotary_dim, 2, f32.dtype(torch::kInt64))
                                .to(torch::kFloat32) / static_cast<double>(rotary_dim);
  torch::Tensor inv_freq = 1.0 / torch::pow(torch::scalar_tensor(base, f32), exponents);
  torch::Tensor t = torch::arange(positions, f32);
  torch::Tensor freqs = torch::outer(t, inv_freq);     // [P, rd/2]
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);  // [P, rd]
  return {emb.cos(), emb.sin()};
}

torch::Tensor ApplyRotary(const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, int64_t rotary_dim) {
  if (rotary_dim == 0) return x;
  const int64_t half = rotary_dim / 2;
  const int64_t p = x.size(1);
  // [P, rd] -> [1, P, 1, rd], in x's dtype (HF casts the tables to the activation dtype)
  torch::Tensor c = cos.narrow(0, 0, p).unsqueeze(0).unsqueeze(2).to(x.scalar_type());
  torch::Tensor s = sin.narrow(0, 0, p).unsqueeze(0).unsqueeze(2).to(x.scalar_type());
  torch::Tensor x_rot = x.narrow(-1, 0, rotary_dim);                        // [B,P,H,rd]
  torch::Tensor x_pass = x.narrow(-1, rotary_dim, x.size(-1) - rotary_dim);  // [B,P,H,Dh-rd]
  torch::Tensor x1 = x_rot.narrow(-1, 0, half);
  torch::Tensor x2 = x_rot.narrow(-1, half, half);
  torch::Tensor rotated = torch::cat({-x2, x1}, -1);  // rotate_half
  torch::Tensor out = x_rot * c + rotated * s;
  if (x_pass.size(-1) == 0) return out;
  return torch::cat({out, x_pass}, -1);
}

torch::Tensor CausalSelfAttention(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v) {
  const int64_t p = q.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  // Scores and softmax in float32 (float64 stays float64).
  const torch::Dtype acc = q.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  torch::Tensor qh = q.transpose(1, 2).to(acc);  // [B,H,P,Dh]
  torch::Tensor kh = k.transpose(1, 2).to(acc);  // [B,H,P,Dh]
  torch::Tensor vh = v.transpose(1, 2);                      // [B,H,P,Dh]
  torch::Tensor scores = torch::matmul(qh, kh.transpose(-2, -1)) * scale;  // [B,H,P,P]
  torch::Tensor mask = torch::ones({p, p}, torch::TensorOptions().dtype(torch::kBool).device(q.device()))
                           .triu(1);  // true above the diagonal = future positions
  scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  torch::Tensor probs = torch::softmax(scores, -1).to(v.scalar_type());  // [B,H,P,P]
  return torch::matmul(probs, vh).transpose(1, 2);                      // [B,P,H,Dh]
}

}  // namespace fc::model
