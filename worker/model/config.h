// ModelConfig: the architecture hyper-parameters of a causal LM, read from and written to a
// HuggingFace config.json. Supported: model_type "gpt_neox" (Pythia) and "gpt2".
//
// GPT-NeoX fields: hidden_size, num_attention_heads, num_hidden_layers, intermediate_size,
//   rotary_pct, rotary_emb_base (or rope_theta), use_parallel_residual (default true),
//   layer_norm_eps, max_position_embeddings, vocab_size, tie_word_embeddings (default false),
//   hidden_act. Rejected with a clear error: rope_scaling non-null, attention_bias false,
//   hidden_act other than gelu/gelu_new/gelu_pytorch_tanh/gelu_fast.
// GPT-2 fields: n_embd, n_head, n_layer, n_positions (or n_ctx), n_inner (null -> 4*n_embd),
//   layer_norm_epsilon, vocab_size, activation_function; scale_attn_weights must be true and
//   scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn false.
// Errors are INVALID_ARGUMENT naming the source (e.g. "/x/config.json") and the field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace fc::model {

enum class Arch { kGptNeox, kGpt2 };

// MLP activation. kGeluErf: exact erf GELU (NeoX "gelu"); kGeluTanh: tanh approximation
// (GPT-2 "gelu_new", "gelu_pytorch_tanh", "gelu_fast").
enum class Activation { kGeluErf, kGeluTanh };

struct ModelConfig {
  Arch arch = Arch::kGptNeox;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t d_model = 0;
  int64_t d_head = 0;        // d_model / n_heads
  int64_t d_mlp = 0;
  int64_t vocab_size = 0;
  int64_t max_positions = 0;
  bool parallel_residual = false;  // NeoX use_parallel_residual; GPT-2 always false
  double rotary_pct = 0.0;         // NeoX only
  double rotary_base = 10000.0;    // NeoX only
  double layer_norm_eps = 1e-5;
  bool tie_word_embeddings = false;  // GPT-2 always true
  Activation activation = Activation::kGeluErf;
  int64_t bos_token_id = 0;
  int64_t eos_token_id = 0;
  double initializer_range = 0.02;   // std of CreateRandomCausalLM's normal init
  nlohmann::json raw;                // the full config.json, kept for round trips

  // NeoX: int(rotary_pct * d_head) as HF computes it; 0 for GPT-2.
  int64_t rotary_dim() const;
  // Graph sizes of algorithms.md 2.4.
  int64_t n_forward() const { return 1 + n_layers * (n_heads + 1); }
  int64_t n_backward() const { return n_layers * (3 * n_heads + 1) + 1; }
};

// Parses a config.json object. `source` names it in errors (usually the file path).
StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& j, const std::string& source);
// Reads and parses a config.json file.
StatusOr<ModelConfig> ReadModelConfig(const std::string& path);
// The config.json to write: `raw` with every field this struct owns overwritten, so unknown
// fields survive a round trip. A config built without `raw` yields a complete HF config.
nlohmann::json ModelConfigToJson(const ModelConfig& config);
// Checks internal consistency (positive sizes, d_model % n_heads, rotary_dim even ...).
Status ValidateModelConfig(const ModelConfig& config, const std::string& source);

}  // namespace fc::model
