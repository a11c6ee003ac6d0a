#include "worker/attribution/model_guards.h"

namespace fc::attribution {

FrozenParameters::FrozenParameters(model::CausalLM& model) {
  auto freeze = [this](const torch::Tensor& t) {
    if (t.defined() && t.requires_grad()) {
      torch::Tensor handle = t;
      handle.requires_grad_(false);
      switched_.push_back(handle);
    }
  };
  for (const torch::Tensor& p : model.module().parameters()) freeze(p);
  for (auto& [name, linear] : model.NamedLinears()) {
    if (linear->lora) {
      freeze(linear->lora->A);
      freeze(linear->lora->B);
    }
  }
}

FrozenParameters::~FrozenParameters() {
  for (torch::Tensor& t : switched_) t.requires_grad_(true);
}

Status ValidateBatchForModel(const Batch& batch, const model::ModelConfig& cfg) {
  if (!batch.clean_ids.defined() || batch.clean_ids.dim() != 2 ||
      batch.corrupted_ids.sizes() != batch.clean_ids.sizes()) {
    return InvalidArgumentError("batch at row {}: clean and corrupted ids must both be [B,P]",
                                batch.first_row);
  }
  if (batch.clean_ids.size(1) > cfg.max_positions) {
    return InvalidArgumentError("batch at row {}: {} tokens exceed the model's {} positions",
                                batch.first_row, batch.clean_ids.size(1), cfg.max_positions);
  }
  for (const torch::Tensor* ids : {&batch.clean_ids, &batch.corrupted_ids}) {
    torch::Tensor bad = (*ids >= cfg.vocab_size).any(1);
    if (bad.any().item<bool>()) {
      const int64_t i = bad.nonzero()[0][0].item<int64_t>();
      return InvalidArgumentError("row {}: {} token id {} outside the vocabulary of {}",
                                  batch.first_row + i,
                                  ids == &batch.clean_ids ? "clean" : "corrupted",
                                  (*ids)[i].max().item<int64_t>(), cfg.vocab_size);
    }
  }
  return Status::OK();
}

}  // namespace fc::attribution
