#include "worker/finetune/loss.h"

#include <fmt/ranges.h>

namespace fc::finetune {

StatusOr<LossSum> CausalLmLossSum(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (logits.dim() != 3 || labels.dim() != 2 || logits.size(0) != labels.size(0) ||
      logits.size(1) != labels.size(1)) {
    return InvalidArgumentError("causal LM loss: logits [{}] and labels [{}] must be [B,P,V] and [B,P]",
                                fmt::join(logits.sizes().vec(), ","),
                                fmt::join(labels.sizes().vec(), ","));
  }
  if (labels.scalar_type() != torch::kInt64) return InvalidArgumentError("causal LM loss: labels must be int64");
  const int64_t V = logits.size(2);
  torch::Tensor shift_logits = logits.narrow(1, 0, logits.size(1) - 1).reshape({-1, V}).to(torch::kFloat32);
  torch::Tensor shift_labels = labels.narrow(1, 1, labels.size(1) - 1).reshape({-1}).to(logits.device());
  LossSum out;
  out.count = (shift_labels != kIgnoreLabel).sum().item<int64_t>();
  if (out.count > 0) {
    torch::Tensor bad = (shift_labels != kIgnoreLabel) & ((shift_labels < 0) | (shift_labels >= V));
    if (bad.any().item<bool>()) {
      return InvalidArgumentError("causal LM loss: a label is outside [0, {}) and not {}", V, kIgnoreLabel);
    }
  }
  out.sum = torch::nn::functional::cross_entropy(
      shift_logits, shift_labels,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel).reduction(torch::kSum));
  return out;
}

StatusOr<torch::Tensor> CausalLmLoss(const torch::Tensor& logits, const torch::Tensor& labels) {
  FC_ASSIGN_OR_RETURN(LossSum s, CausalLmLossSum(logits, labels));
  if (s.count == 0) return s.sum * 0.0;
  return s.sum / static_cast<double>(s.count);
}

int64_t CountLabels(const torch::Tensor& labels) {
  if (labels.dim() != 2 || labels.size(1) < 2) return 0;
  return (labels.narrow(1, 1, labels.size(1) - 1) != kIgnoreLabel).sum().item<int64_t>();
}

}  // namespace fc::finetune
