// CircuitLoRA plan (algorithms.md 8): from the collapsed circuits before and after a
// preliminary fine-tuning run, find the layers whose edges changed most and give their modules
// a larger LoRA rank.
//
//   1. delta(e) over the union of edge names: |s_after - s_before| if e is in both, else |s|.
//   2. layer of an edge: its SOURCE node's layer (default, = the paper; input -> 0, so every
//      input->* edge is charged to layer 0), its destination's (logits -> L-1), or split half/half.
//   3. Delta_l = sum of delta(e) over edges charged to l.
//   4. critical layers: kTopK: the K largest Delta_l among layers with >= 1 delta edge (stable
//      descending, ties -> lower layer), in that order; kMeanStd: Delta_l >= mean + population
//      std over the layers with >= 1 delta edge (absent layers are not counted as 0), ascending;
//      kNone: vanilla LoRA. (The original select_critical_layers uses mean+std when top_k is 0,
//      which is what CriticalRuleForTopK(0) gives; the notebook's "K=0 = vanilla LoRA" is kNone.)
//   5. every target module (lora_modules.h) of a critical layer gets rank r_c / alpha_c and the
//      critical learning rate; all others r_o / alpha / lr_other. One adapter per module.
// The JSON form is the rank map worker/finetune reads (docs/design/contracts.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/circuit/collapsed.h"
#include "common/circuit/lora_modules.h"
#include "common/status.h"

namespace fc::circuit {

enum class LayerAttribution { kSource, kDestination, kSplit };
enum class CriticalRule { kTopK, kMeanStd, kNone };

StatusOr<LayerAttribution> ParseLayerAttribution(std::string_view s);  // source | dst | split
const char* LayerAttributionName(LayerAttribution a);
// top_k > 0 -> kTopK, 0 -> kMeanStd (the original function's behaviour and the DAG's top_k doc).
CriticalRule CriticalRuleForTopK(int top_k);

struct CircuitLoraOptions {
  CriticalRule rule = CriticalRule::kTopK;
  int top_k = 5;
  LayerAttribution attribution = LayerAttribution::kSource;
  ModelShape shape;  // arch, n_layers (must equal the circuits'), d_model, d_mlp
  int64_t r_o = 8;
  double alpha = 16.0;
  int64_t r_c = 32;
  double alpha_c = 64.0;
  double lr_other = 3e-4;
  double lr_critical = 6e-4;
};

struct ModuleRank {
  std::string name;
  int layer;
  int64_t r;
  double alpha;
  bool critical;
  int64_t in, out;
};

struct CircuitLoraPlan {
  CircuitLoraOptions options;
  int64_t n_delta_edges = 0;            // |union of edge names|
  std::vector<double> layer_delta;      // Delta_l, size L
  std::vector<double> layer_delta_edges;  // edges charged to l (0.5 each half under kSplit)
  double threshold = 0.0;               // mean + std (kMeanStd only)
  std::vector<int> critical_layers;     // kTopK: by descending Delta; kMeanStd: ascending
  std::vector<ModuleRank> modules;      // every target module, model order
  ParamCount params;                    // trainable adapters vs base model

  std::vector<std::string> CriticalModules() const;
};

StatusOr<CircuitLoraPlan> PlanCircuitLora(const CollapsedCircuit& before,
                                          const CollapsedCircuit& after,
                                          const CircuitLoraOptions& options);

// {"modules": {name: {"r", "alpha", "critical"}}, "lr_critical", "lr_other", "critical_layers",
//  plus informational keys: "layer_deltas", "attribution", "rule", "top_k", "n_delta_edges",
//  "threshold", "trainable_params", "base_params", "param_ratio"}.
std::string PlanToJson(const CircuitLoraPlan& plan);

}  // namespace fc::circuit
