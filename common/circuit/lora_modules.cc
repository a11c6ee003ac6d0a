#include "common/circuit/lora_modules.h"

#include <algorithm>

namespace fc::circuit {

StatusOr<ModelArch> ParseModelArch(std::string_view s) {
  if (s == "gpt_neox" || s == "gpt-neox" || s == "pythia") return ModelArch::kGptNeox;
  if (s == "gpt2" || s == "gpt-2") return ModelArch::kGpt2;
  return InvalidArgumentError("model arch '{}': expected gpt_neox or gpt2", s);
}

const char* ModelArchName(ModelArch a) { return a == ModelArch::kGptNeox ? "gpt_neox" : "gpt2"; }

std::vector<LinearModule> LoraTargetModules(const ModelShape& s) {
  std::vector<LinearModule> out;
  out.reserve(static_cast<size_t>(s.n_layers) * 4);
  const int64_t D = s.d_model, M = s.d_mlp;
  for (int l = 0; l < s.n_layers; ++l) {
    if (s.arch == ModelArch::kGptNeox) {
      const std::string p = fmt::format("gpt_neox.layers.{}.", l);
      out.push_back({p + "attention.query_key_value", l, D, 3 * D});
      out.push_back({p + "attention.dense", l, D, D});
      out.push_back({p + "mlp.dense_h_to_4h", l, D, M});
      out.push_back({p + "mlp.dense_4h_to_h", l, M, D});
    } else {
      const std::string p = fmt::format("transformer.h.{}.", l);
      out.push_back({p + "attn.c_attn", l, D, 3 * D});
      out.push_back({p + "attn.c_proj", l, D, D});
      out.push_back({p + "mlp.c_fc", l, D, M});
      out.push_back({p + "mlp.c_proj", l, M, D});
    }
  }
  return out;
}

int64_t BaseParameterCount(const ModelShape& s) {
  const int64_t D = s.d_model, M = s.d_mlp, V = s.vocab_size;
  int64_t per_layer = 4 * D;  // two LayerNorms (weight + bias)
  for (const LinearModule& m : LoraTargetModules(ModelShape{s.arch, 1, D, M, V, s.max_positions}))
    per_layer += m.in * m.out + m.out;  // weight + bias
  int64_t total = per_layer * s.n_layers + 2 * D;  // + final LayerNorm
  if (s.arch == ModelArch::kGptNeox) total += 2 * V * D;  // embed_in + untied embed_out
  else total += V * D + s.max_positions * D;              // tied wte + wpe
  return total;
}

ParamCount CountUniformLora(const ModelShape& shape, int64_t r) {
  ParamCount c{BaseParameterCount(shape), 0};
  for (const LinearModule& m : LoraTargetModules(shape)) c.trainable += r * (m.in + m.out);
  return c;
}

ParamCount CountAdaLoraInit(const ModelShape& shape, int64_t init_r) {
  ParamCount c{BaseParameterCount(shape), 0};
  for (const LinearModule& m : LoraTargetModules(shape)) c.trainable += init_r * (m.in + m.out) + init_r;
  return c;
}

ParamCount CountCircuitLora(const ModelShape& shape, const std::vector<int>& critical_layers,
                            int64_t r_o, int64_t r_c) {
  ParamCount c{BaseParameterCount(shape), 0};
  for (const LinearModule& m : LoraTargetModules(shape)) {
    const bool crit = std::find(critical_layers.begin(), critical_layers.end(), m.layer) !=
                      critical_layers.end();
    c.trainable += (crit ? r_c : r_o) * (m.in + m.out);
  }
  return c;
}

}  // namespace fc::circuit
