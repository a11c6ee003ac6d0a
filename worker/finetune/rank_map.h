// RankMap: the CircuitLoRA plan the trainer consumes (algorithms.md 8), produced by
// common/circuit's circuit_lora_plan. JSON (docs/design/contracts.md, "CircuitLoRA rank map"):
//   {"modules": {"gpt_neox.layers.0.attention.query_key_value": {"r": 32, "alpha": 64,
//                                                                "critical": true}, ...},
//    "lr_critical": 6e-4, "lr_other": 3e-4,
//    "critical_layers": [0, 4, 5, 6, 11]}          <- optional, informational
// Every listed module gets exactly one adapter of its own rank/alpha (a critical module gets
// only the rank-r_c adapter, never r_o + r_c); critical modules' A/B form their own optimizer
// group with lr_critical. Unknown keys are ignored; a bad value is INVALID_ARGUMENT naming the
// source, the module and the field.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/finetune/adapter_config.h"

namespace fc::finetune {

struct RankMapEntry {
  int64_t r = 0;
  double alpha = 0;
  bool critical = false;
};

struct RankMap {
  std::map<std::string, RankMapEntry> modules;
  double lr_critical = 0;
  double lr_other = 0;
  std::vector<int64_t> critical_layers;

  std::vector<std::string> CriticalModules() const;
  // The equivalent PEFT config: target_modules = every module (full names), r/lora_alpha = the
  // most common non-critical pair, rank_pattern/alpha_pattern for every module that differs.
  AdapterConfig ToAdapterConfig(double lora_dropout, const std::string& base_model) const;
};

StatusOr<RankMap> ParseRankMap(const std::string& json_text, const std::string& source);
StatusOr<RankMap> ReadRankMap(const std::string& path);
std::string RankMapToJson(const RankMap& map);

}  // namespace fc::finetune
