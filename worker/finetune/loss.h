// Causal-LM loss (algorithms.md 6.2): cross-entropy of logits[:, t] against labels[:, t+1] over
// the positions whose label is not -100 (HF's shift), computed in float32.
//
// The trainer uses the (sum, count) form and divides by the label count of the whole
// accumulation window, so accumulating k micro-batches gives the same gradient as one batch of
// all their rows (HF's per-micro-batch mean weights short batches up; see docs/finetune.md).
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "common/status.h"

namespace fc::finetune {

inline constexpr int64_t kIgnoreLabel = -100;

struct LossSum {
  torch::Tensor sum;  // scalar float32, differentiable
  int64_t count = 0;  // number of labelled (non -100) shifted positions
};

// logits [B,P,V] (any float dtype), labels [B,P] int64. Shapes are checked.
StatusOr<LossSum> CausalLmLossSum(const torch::Tensor& logits, const torch::Tensor& labels);
// Mean over labelled positions; NaN-free: 0 when nothing is labelled.
StatusOr<torch::Tensor> CausalLmLoss(const torch::Tensor& logits, const torch::Tensor& labels);
// Number of labelled positions after the shift, without a forward pass.
int64_t CountLabels(const torch::Tensor& labels);

}  // namespace fc::finetune
