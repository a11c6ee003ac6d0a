// LoraSet: LoRA adapters attached to the Linear layers of a CausalLM (algorithms.md 6.4).
//
//   y = W x + b + (alpha/r) B A dropout(x),  A [r,in] ~ U(-1/sqrt(in), 1/sqrt(in)) (Kaiming
//   uniform, a = sqrt(5), as nn.Linear/peft), B [out,r] = 0, so a fresh adapter changes nothing.
//
// Targets are chosen by AdapterConfig (HF module names or suffixes from
// CausalLM::NamedLinears(), per-module rank/alpha via rank_pattern/alpha_pattern). Attaching
// freezes every base parameter; only A and B require grad. Merge() folds W += scale B A into
// the base weights (scale read from the config, never a constant) and detaches the adapters
// from the forward; Unmerge() subtracts the same product and re-attaches them. The LoraSet
// must not outlive the model; Detach() removes the adapters without merging.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "common/status.h"
#include "worker/finetune/adapter_config.h"
#include "worker/finetune/peft_io.h"
#include "worker/model/causal_lm.h"

namespace fc::finetune {

// The explicit per-architecture default targets (the original wrapped every Linear except the
// name "embed_out", which also wrapped GPT-2's tied lm_head, algorithms.md 12.13).
std::vector<std::string> DefaultTargetModules(model::Arch arch);

class LoraSet {
 public:
  // New adapters for every module the config targets. A target list that matches no module is
  // INVALID_ARGUMENT naming the list. `seed` makes A's initialisation reproducible.
  static StatusOr<std::unique_ptr<LoraSet>> Attach(model::CausalLM& model, const AdapterConfig& config,
                                                    uint64_t seed);
  // Adapters read from a PEFT folder (adapter_config.json + adapter_model.safetensors), on the
  // model's device and dtype. Every adapter module must exist in the model with matching shapes.
  static StatusOr<std::unique_ptr<LoraSet>> Load(model::CausalLM& model, const std::string& adapter_dir);
  static StatusOr<std::unique_ptr<LoraSet>> FromAdapter(model::CausalLM& model, const PeftAdapter& adapter);

  ~LoraSet();
  LoraSet(const LoraSet&) = delete;
  LoraSet& operator=(const LoraSet&) = delete;

  const AdapterConfig& config() const { return config_; }
  bool merged() const { return merged_; }
  // Module names in model order.
  std::vector<std::string> Modules() const;
  // A and B of every module in model order (A0, B0, A1, B1 ...): the trainable parameters.
  std::vector<torch::Tensor> Parameters() const;
  // Parameters of the given modules only (CircuitLoRA's critical learning-rate group).
  std::vector<torch::Tensor> ParametersOf(const std::vector<std::string>& modules) const;
  int64_t TrainableParameterCount() const;

  Status Merge();
  Status Unmerge();
  void Detach();  // removes the adapters from the layers (no merge); idempotent

  // The adapter as PEFT would save it (CPU float32 copies).
  PeftAdapter ToPeft() const;
  Status Save(const std::string& dir) const { return WritePeftAdapter(ToPeft(), dir); }

 private:
  struct Entry {
    std::string module;
    model::Linear linear;
    std::shared_ptr<model::LoraAdapter> adapter;
  };
  LoraSet(AdapterConfig config, std::vector<Entry> entries)
      : config_(std::move(config)), entries_(std::move(entries)) {}

  AdapterConfig config_;
  std::vector<Entry> entries_;
  bool merged_ = false;
  bool detached_ = false;
};

// Loads an adapter folder and merges it into `model` for good (what circuit discovery on a LoRA
// checkpoint needs, algorithms.md 6.7), with each module's own alpha/r.
Status MergeAdapterIntoModel(model::CausalLM& model, const std::string& adapter_dir);

}  // namespace fc::finetune
