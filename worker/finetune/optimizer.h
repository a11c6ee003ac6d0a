// AdamW with named parameter groups, each with its own base learning rate (CircuitLoRA's
// critical / other groups, full fine-tuning's decay / no-decay groups as HF Trainer builds
// them), plus the per-step learning-rate update and state (de)serialisation.
//
// The state (moments, per-parameter step counts, group options) is written with LibTorch's own
// optimizer archive, which maps states to parameters by (group, position): a resumed run must
// build its groups from the same parameters in the same order, which the trainer guarantees.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/status.h"

namespace fc::finetune {

struct ParamGroup {
  std::string name;                   // "lora", "critical", "decay", "no_decay" ...
  std::vector<torch::Tensor> params;  // all require grad
  double lr = 0;
  double weight_decay = 0;
};

struct AdamWHyper {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class GroupedAdamW {
 public:
  // Empty groups are dropped; no parameter at all is INVALID_ARGUMENT.
  static StatusOr<std::unique_ptr<GroupedAdamW>> Create(std::vector<ParamGroup> groups, const AdamWHyper& hyper);

  // Sets every group's lr to base_lr * multiplier.
  void SetLrMultiplier(double multiplier);
  double CurrentLr(size_t group) const;
  void Step() { opt_->step(); }
  void ZeroGrad();

  const std::vector<ParamGroup>& groups() const { return groups_; }
  std::vector<torch::Tensor> AllParams() const;
  int64_t ParameterCount() const;

  void Save(torch::serialize::OutputArchive& archive) const { opt_->save(archive); }
  Status Load(torch::serialize::InputArchive& archive);

 private:
  GroupedAdamW(std::vector<ParamGroup> groups, std::unique_ptr<torch::optim::AdamW> opt)
      : groups_(std::move(groups)), opt_(std::move(opt)) {}
  std::vector<ParamGroup> groups_;
  std::unique_ptr<torch::optim::AdamW> opt_;
};

// Global-L2-norm gradient clipping as torch.nn.utils.clip_grad_norm_: when the norm over all
// defined gradients exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6).
// Returns the norm before clipping (what HF logs as grad_norm).
double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace fc::finetune
