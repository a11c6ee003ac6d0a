// Small guards shared by attribution and evaluation: parameters without gradients for the
// duration of a call, and batch checks against the model's vocabulary and context.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "common/status.h"
#include "worker/attribution/batch.h"
#include "worker/model/causal_lm.h"

namespace fc::attribution {

// Switches requires_grad off on every parameter (and LoRA adapter tensor) of `model` for its
// lifetime and restores the ones it switched: attribution needs gradients w.r.t. destination
// inputs only (algorithms.md 3.7), and a parameter that requires grad makes autograd keep its
// inputs alive.
class FrozenParameters {
 public:
  explicit FrozenParameters(model::CausalLM& model);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> switched_;
};

// Token ids inside the vocabulary, lengths within the model's context, consistent shapes.
// Errors name the row (batch.first_row + i).
Status ValidateBatchForModel(const Batch& batch, const model::ModelConfig& cfg);

}  // namespace fc::attribution
