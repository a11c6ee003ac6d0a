// Linear: the one projection type of both architectures (never torch::nn::Linear), so LoRA can
// wrap any projection and the tapped forward can read per-head weight slices.
//
// Contract:
//   weight [out, in] (HF nn.Linear layout; GPT-2 Conv1D weights are transposed on load/save),
//   bias [out] or undefined. Parameters are registered as "weight" and "bias", so the owning
//   module's named_parameters() produce exactly the HF names.
//   forward(x) = x W^T + b + scale * dropout(x) A^T B^T   (the LoRA term only when lora != null;
//   dropout only in training mode). LoraAdapter tensors are owned by worker/finetune; this
//   module never registers them.
#pragma once

#include <torch/torch.h>

#include <memory>

namespace fc::model {

struct LoraAdapter {          // owned by finetune/lora.cc, read by Linear::forward
  torch::Tensor A;            // [r, in]
  torch::Tensor B;            // [out, r]
  double scale = 1.0;         // alpha / r
  double dropout = 0.0;
};

class LinearImpl : public torch::nn::Module {
 public:
  // Parameters are created uninitialised (torch::empty) with `options`; loaders fill them.
  LinearImpl(int64_t in, int64_t out, bool bias,
             torch::TensorOptions options = torch::TensorOptions().dtype(torch::kFloat32));

  torch::Tensor forward(const torch::Tensor& x);  // [..., in] -> [..., out]

  // W + scale * B A (no dropout): the weight the layer applies in eval mode. Differentiable in
  // W, A and B. Used by the tapped forward, which needs per-head slices of the weight.
  torch::Tensor EffectiveWeight() const;  // [out, in]

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

  torch::Tensor weight;                 // [out, in]
  torch::Tensor bias;                   // [out] or undefined
  std::shared_ptr<LoraAdapter> lora;    // null = plain layer

 private:
  int64_t in_;
  int64_t out_;
};
TORCH_MODULE(Linear);

}  // namespace fc::model
