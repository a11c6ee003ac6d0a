// AdapterConfig: PEFT's adapter_config.json for LoRA, read and written the way peft does.
//
// Written keys (peft 0.6 .. 0.13 all read them): peft_type "LORA", task_type "CAUSAL_LM", r,
// lora_alpha, lora_dropout, target_modules (sorted list), rank_pattern, alpha_pattern,
// fan_in_fan_out, bias "none", base_model_name_or_path, inference_mode, use_rslora,
// modules_to_save null, init_lora_weights true, layers_to_transform null, revision null.
// Read: every variant different peft versions write - target_modules as a list or as one regex
// string, any optional key missing (peft's defaults apply), unknown keys accepted and kept in
// `extra` so a round trip loses nothing. peft_type other than LORA, bias other than "none",
// modules_to_save, non-positive r and a dropout outside [0,1) are rejected naming the field.
//
// Per-module rank and alpha follow peft's resolution: an exact key of rank_pattern/alpha_pattern
// first, else the first key K with regex `(.*\.)?K$` matching the module name (what peft >= 0.7
// does; older `.*\.K$` agrees for the suffix keys this writer emits), else r / lora_alpha.
// The scale is alpha/r (alpha/sqrt(r) with use_rslora) - never a constant (the original's bug).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace fc::finetune {

inline constexpr char kAdapterConfigFile[] = "adapter_config.json";
inline constexpr char kAdapterWeightsFile[] = "adapter_model.safetensors";

struct AdapterConfig {
  std::string base_model_name_or_path;
  std::string task_type = "CAUSAL_LM";
  int64_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0.0;
  // Module names or name suffixes (list form); when target_regex is set it replaces the list
  // (peft's string form, matched against the whole module name).
  std::vector<std::string> target_modules;
  std::optional<std::string> target_regex;
  std::map<std::string, int64_t> rank_pattern;
  std::map<std::string, double> alpha_pattern;
  bool fan_in_fan_out = false;   // true for GPT-2 Conv1D targets; A/B shapes are unaffected
  bool inference_mode = true;
  bool use_rslora = false;
  nlohmann::json extra = nlohmann::json::object();  // unknown keys, written back unchanged

  bool Targets(const std::string& module) const;
  int64_t RankFor(const std::string& module) const;
  double AlphaFor(const std::string& module) const;
  double ScaleFor(const std::string& module) const;
};

// `source` names the file in error messages.
StatusOr<AdapterConfig> ParseAdapterConfig(const std::string& json_text, const std::string& source);
// Reads <dir>/adapter_config.json.
StatusOr<AdapterConfig> ReadAdapterConfig(const std::string& dir);
nlohmann::json AdapterConfigToJson(const AdapterConfig& config);
// Writes <dir>/adapter_config.json (the directory must exist).
Status WriteAdapterConfig(const AdapterConfig& config, const std::string& dir);

// The key written into rank_pattern/alpha_pattern for a module: the name without its first
// component ("gpt_neox.layers.3.attention.dense" -> "layers.3.attention.dense"), which every
// peft version matches as a suffix and which does not match "layers.13...".
std::string PatternKeyFor(const std::string& module);

}  // namespace fc::finetune
