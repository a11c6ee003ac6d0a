#include "worker/model/config.h"

#include <fstream>
#include <sstream>

namespace fc::model {
namespace {

using nlohmann::json;

// Field readers: "missing" and "wrong type" errors both name the source and the field.
StatusOr<int64_t> GetInt(const json& j, const std::string& key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return InvalidArgumentError("{}: missing field '{}'", source, key);
  }
  if (!it->is_number_integer()) {
    return InvalidArgumentError("{}: field '{}' must be an integer, got {}", source, key,
                                it->dump());
  }
  return it->get<int64_t>();
}

StatusOr<double> GetDouble(const json& j, const std::string& key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return InvalidArgumentError("{}: missing field '{}'", source, key);
  }
  if (!it->is_number()) {
    return InvalidArgumentError("{}: field '{}' must be a number, got {}", source, key,
                                it->dump());
  }
  return it->get<double>();
}

StatusOr<bool> GetBoolOr(const json& j, const std::string& key, bool dflt,
                         const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) {
    return InvalidArgumentError("{}: field '{}' must be true or false, got {}", source, key,
                                it->dump());
  }
  return it->get<bool>();
}

int64_t GetIntOr(const json& j, const std::string& key, int64_t dflt) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return dflt;
  return it->get<int64_t>();
}

StatusOr<Activation> ParseActivation(const json& j, const std::string& key,
                                     const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    return InvalidArgumentError("{}: missing string field '{}'", source, key);
  }
  const std::string act = it->get<std::string>();
  if (act == "gelu") return Activation::kGeluErf;
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") {
    return Activation::kGeluTanh;
  }
  return InvalidArgumentError(
      "{}: field '{}' = '{}' is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, "
      "gelu_fast)",
      source, key, act);
}

const char* ActivationName(const ModelConfig& c) {
  return c.activation == Activation::kGeluErf ? "gelu" : "gelu_new";
}

StatusOr<ModelConfig> ParseGptNeox(const json& j, const std::string& source) {
  ModelConfig c;
  c.arch = Arch::kGptNeox;
  FC_ASSIGN_OR_RETURN(c.d_model, GetInt(j, "hidden_size", source));
  FC_ASSIGN_OR_RETURN(c.n_heads, GetInt(j, "num_attention_heads", source));
  FC_ASSIGN_OR_RETURN(c.n_layers, GetInt(j, "num_hidden_layers", source));
  FC_ASSIGN_OR_RETURN(c.d_mlp, GetInt(j, "intermediate_size", source));
  FC_ASSIGN_OR_RETURN(c.vocab_size, GetInt(j, "vocab_size", source));
  FC_ASSIGN_OR_RETURN(c.max_positions, GetInt(j, "max_position_embeddings", source));
  if (!j.contains("rotary_pct") && j.contains("partial_rotary_factor")) {
    // Newer transformers name it partial_rotary_factor.
    FC_ASSIGN_OR_RETURN(c.rotary_pct, GetDouble(j, "partial_rotary_factor", source));
  } else {
    FC_ASSIGN_OR_RETURN(c.rotary_pct, GetDouble(j, "rotary_pct", source));
  }
  if (j.contains("rotary_emb_base") && !j["rotary_emb_base"].is_null()) {
    FC_ASSIGN_OR_RETURN(c.rotary_base, GetDouble(j, "rotary_emb_base", source));
  } else if (j.contains("rope_theta") && !j["rope_theta"].is_null()) {
    FC_ASSIGN_OR_RETURN(c.rotary_base, GetDouble(j, "rope_theta", source));
  } else {
    return InvalidArgumentError("{}: missing field 'rotary_emb_base' (or 'rope_theta')", source);
  }
  FC_ASSIGN_OR_RETURN(c.layer_norm_eps, GetDouble(j, "layer_norm_eps", source));
  FC_ASSIGN_OR_RETURN(c.parallel_residual,
                      GetBoolOr(j, "use_parallel_residual", true, source));
  FC_ASSIGN_OR_RETURN(c.tie_word_embeddings,
                      GetBoolOr(j, "tie_word_embeddings", false, source));
  FC_ASSIGN_OR_RETURN(c.activation, ParseActivation(j, "hidden_act", source));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    return InvalidArgumentError("{}: field 'rope_scaling' = {} is not supported (only null)",
                                source, j["rope_scaling"].dump());
  }
  FC_ASSIGN_OR_RETURN(bool attention_bias, GetBoolOr(j, "attention_bias", true, source));
  if (!attention_bias) {
    return InvalidArgumentError("{}: field 'attention_bias' = false is not supported", source);
  }
  c.bos_token_id = GetIntOr(j, "bos_token_id", 0);
  c.eos_token_id = GetIntOr(j, "eos_token_id", 0);
  return c;
}

StatusOr<ModelConfig> ParseGpt2(const json& j, const std::string& source) {
  ModelConfig c;
  c.arch = Arch::kGpt2;
  FC_ASSIGN_OR_RETURN(c.d_model, GetInt(j, "n_embd", source));
  FC_ASSIGN_OR_RETURN(c.n_heads, GetInt(j, "n_head", source));
  FC_ASSIGN_OR_RETURN(c.n_layers, GetInt(j, "n_layer", source));
  FC_ASSIGN_OR_RETURN(c.vocab_size, GetInt(j, "vocab_size", source));
  if (j.contains("n_positions") && !j["n_positions"].is_null()) {
    FC_ASSIGN_OR_RETURN(c.max_positions, GetInt(j, "n_positions", source));
  } else {
    FC_ASSIGN_OR_RETURN(c.max_positions, GetInt(j, "n_ctx", source));
  }
  if (j.contains("n_inner") && !j["n_inner"].is_null()) {
    FC_ASSIGN_OR_RETURN(c.d_mlp, GetInt(j, "n_inner", source));
  } else {
    c.d_mlp = 4 * c.d_model;
  }
  FC_ASSIGN_OR_RETURN(c.layer_norm_eps, GetDouble(j, "layer_norm_epsilon", source));
  FC_ASSIGN_OR_RETURN(c.activation, ParseActivation(j, "activation_function", source));
  FC_ASSIGN_OR_RETURN(bool scale, GetBoolOr(j, "scale_attn_weights", true, source));
  if (!scale) {
    return InvalidArgumentError("{}: field 'scale_attn_weights' = false is not supported", source);
  }
  for (const char* key : {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"}) {
    FC_ASSIGN_OR_RETURN(bool v, GetBoolOr(j, key, false, source));
    if (v) return InvalidArgumentError("{}: field '{}' = true is not supported", source, key);
  }
  FC_ASSIGN_OR_RETURN(bool tie, GetBoolOr(j, "tie_word_embeddings", true, source));
  if (!tie) {
    return InvalidArgumentError("{}: field 'tie_word_embeddings' = false is not supported for gpt2",
                                source);
  }
  c.tie_word_embeddings = true;
  c.parallel_residual = false;
  c.rotary_pct = 0.0;
  c.bos_token_id = GetIntOr(j, "bos_token_id", 50256);
  c.eos_token_id = GetIntOr(j, "eos_token_id", 50256);
  return c;
}

}  // namespace

int64_t ModelConfig::rotary_dim() const {
  if (arch != Arch::kGptNeox) return 0;
  return static_cast<int64_t>(rotary_pct * static_cast<double>(d_head));  // HF: int()
}

Status ValidateModelConfig(const ModelConfig& c, const std::string& source) {
  auto positive = [&](int64_t v, const char* name) -> Status {
    if (v <= 0) return InvalidArgumentError("{}: '{}' must be positive, got {}", source, name, v);
    return Status::OK();
  };
  FC_RETURN_IF_ERROR(positive(c.n_layers, "n_layers"));
  FC_RETURN_IF_ERROR(positive(c.n_heads, "n_heads"));
  FC_RETURN_IF_ERROR(positive(c.d_model, "d_model"));
  FC_RETURN_IF_ERROR(positive(c.d_mlp, "d_mlp"));
  FC_RETURN_IF_ERROR(positive(c.vocab_size, "vocab_size"));
  FC_RETURN_IF_ERROR(positive(c.max_positions, "max_positions"));
  if (c.d_model % c.n_heads != 0) {
    return InvalidArgumentError("{}: hidden size {} is not divisible by the number of heads {}",
                                source, c.d_model, c.n_heads);
  }
  if (c.d_head != c.d_model / c.n_heads) {
    return InvalidArgumentError("{}: d_head {} != d_model / n_heads = {}", source, c.d_head,
                                c.d_model / c.n_heads);
  }
  if (c.layer_norm_eps <= 0) {
    return InvalidArgumentError("{}: layer norm epsilon must be positive, got {}", source,
                                c.layer_norm_eps);
  }
  if (c.arch == Arch::kGptNeox) {
    if (c.rotary_pct < 0 || c.rotary_pct > 1) {
      return InvalidArgumentError("{}: field 'rotary_pct' must be in [0, 1], got {}", source,
                                  c.rotary_pct);
    }
    if (c.rotary_dim() % 2 != 0) {
      return InvalidArgumentError("{}: rotary_dim = int(rotary_pct * d_head) = {} must be even",
                                  source, c.rotary_dim());
    }
    if (c.rotary_base <= 0) {
      return InvalidArgumentError("{}: rotary base must be positive, got {}", source,
                                  c.rotary_base);
    }
  }
  return Status::OK();
}

StatusOr<ModelConfig> ParseModelConfig(const json& j, const std::string& source) {
  if (!j.is_object()) return InvalidArgumentError("{}: not a JSON object", source);
  auto it = j.find("model_type");
  if (it == j.end() || !it->is_string()) {
    return InvalidArgumentError("{}: missing string field 'model_type'", source);
  }
  const std::string type = it->get<std::string>();
  StatusOr<ModelConfig> parsed = InvalidArgumentError("unset");
  if (type == "gpt_neox") {
    parsed = ParseGptNeox(j, source);
  } else if (type == "gpt2") {
    parsed = ParseGpt2(j, source);
  } else {
    return InvalidArgumentError(
        "{}: field 'model_type' = '{}' is not supported (supported: gpt_neox, gpt2)", source,
        type);
  }
  if (!parsed.ok()) return parsed.status();
  ModelConfig c = std::move(parsed).value();
  if (c.n_heads > 0) c.d_head = c.d_model / c.n_heads;
  if (j.contains("initializer_range") && j["initializer_range"].is_number()) {
    c.initializer_range = j["initializer_range"].get<double>();
  }
  c.raw = j;
  FC_RETURN_IF_ERROR(ValidateModelConfig(c, source));
  return c;
}

StatusOr<ModelConfig> ReadModelConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("{}: cannot open config file", path);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    return InvalidArgumentError("{}: invalid JSON: {}", path, e.what());
  }
  return ParseModelConfig(j, path);
}

json ModelConfigToJson(const ModelConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  if (c.arch == Arch::kGptNeox) {
    j["model_type"] = "gpt_neox";
    if (!j.contains("architectures")) j["architectures"] = {"GPTNeoXForCausalLM"};
    j["hidden_size"] = c.d_model;
    j["num_attention_heads"] = c.n_heads;
    j["num_hidden_layers"] = c.n_layers;
    j["intermediate_size"] = c.d_mlp;
    j["vocab_size"] = c.vocab_size;
    j["max_position_embeddings"] = c.max_positions;
    j["rotary_pct"] = c.rotary_pct;
    j["rotary_emb_base"] = c.rotary_base;
    j["layer_norm_eps"] = c.layer_norm_eps;
    j["use_parallel_residual"] = c.parallel_residual;
    j["tie_word_embeddings"] = c.tie_word_embeddings;
    j["hidden_act"] = ActivationName(c);
    if (j.contains("rope_theta")) j.erase("rope_theta");
  } else {
    j["model_type"] = "gpt2";
    if (!j.contains("architectures")) j["architectures"] = {"GPT2LMHeadModel"};
    j["n_embd"] = c.d_model;
    j["n_head"] = c.n_heads;
    j["n_layer"] = c.n_layers;
    j["n_inner"] = c.d_mlp;
    j["vocab_size"] = c.vocab_size;
    j["n_positions"] = c.max_positions;
    if (j.contains("n_ctx")) j["n_ctx"] = c.max_positions;
    j["layer_norm_epsilon"] = c.layer_norm_eps;
    j["activation_function"] = ActivationName(c);
    j["tie_word_embeddings"] = true;
  }
  j["bos_token_id"] = c.bos_token_id;
  j["eos_token_id"] = c.eos_token_id;
  j["initializer_range"] = c.initializer_range;
  return j;
}

}  // namespace fc::model
