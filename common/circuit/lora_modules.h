// The LoRA target modules of the two supported architectures and parameter counting
// (algorithms.md 6.4, 6.5). Pure arithmetic: no weights are read.
//
// Per layer, in model order (names are HF module names, as CausalLM::NamedLinears()):
//   GPT-NeoX: gpt_neox.layers.{l}.attention.query_key_value (D -> 3D), .attention.dense (D -> D),
//             .mlp.dense_h_to_4h (D -> d_mlp), .mlp.dense_4h_to_h (d_mlp -> D)
//   GPT-2:    transformer.h.{l}.attn.c_attn (D -> 3D), .attn.c_proj (D -> D),
//             .mlp.c_fc (D -> d_mlp), .mlp.c_proj (d_mlp -> D)
// The LM head / embed_out is never a target (fixes FC's wrapping of GPT-2's tied lm_head).
// A LoRA of rank r on an (in -> out) linear trains r * (in + out) parameters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace fc::circuit {

enum class ModelArch { kGptNeox, kGpt2 };

StatusOr<ModelArch> ParseModelArch(std::string_view s);  // "gpt_neox" | "gpt2"
const char* ModelArchName(ModelArch a);

struct ModelShape {
  ModelArch arch = ModelArch::kGptNeox;
  int n_layers = 0;
  int64_t d_model = 0;
  int64_t d_mlp = 0;
  int64_t vocab_size = 0;     // for base parameter counts
  int64_t max_positions = 0;  // GPT-2 learned positions (ignored for GPT-NeoX)

  static ModelShape Pythia1p4b() { return {ModelArch::kGptNeox, 24, 2048, 8192, 50304, 2048}; }
  static ModelShape Gpt2Small() { return {ModelArch::kGpt2, 12, 768, 3072, 50257, 1024}; }
};

struct LinearModule {
  std::string name;
  int layer;
  int64_t in, out;
};

// 4 modules per layer, layers ascending.
std::vector<LinearModule> LoraTargetModules(const ModelShape& shape);

// Parameters of the base model: GPT-NeoX with untied embed_out (no bias), GPT-2 tied, both with
// biases and LayerNorm weights/biases. Pythia-1.4b: 1,414,647,808; GPT-2 small: 124,439,808.
int64_t BaseParameterCount(const ModelShape& shape);

struct ParamCount {
  int64_t base = 0;
  int64_t trainable = 0;
  // trainable / (base + trainable), the ratio algorithms.md 6.5 reports (as a fraction).
  double ratio() const {
    return static_cast<double>(trainable) / static_cast<double>(base + trainable);
  }
};

// Plain LoRA of rank r on every target module.
ParamCount CountUniformLora(const ModelShape& shape, int64_t r);
// AdaLoRA at init_r: A, B and the r singular values E per module.
ParamCount CountAdaLoraInit(const ModelShape& shape, int64_t init_r);
// Rank r_c on every module of the critical layers, r_o elsewhere (one adapter per module).
ParamCount CountCircuitLora(const ModelShape& shape, const std::vector<int>& critical_layers,
                            int64_t r_o, int64_t r_c);

}  // namespace fc::circuit
