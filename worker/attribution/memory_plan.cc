#include "worker/attribution/memory_plan.h"

#include <algorithm>

namespace fc::attribution {

int64_t EstimateGradPassBytesPerRow(const model::ModelConfig& cfg, int64_t seq_len,
                                    int64_t elem_size) {
  const int64_t h = cfg.n_heads, d = cfg.d_model;
  const int64_t per_layer_model_dtype = 14 * h * d + 10 * d + 2 * cfg.d_mlp;
  const int64_t per_layer_fp32 = 3 * h * seq_len;
  const int64_t per_token = cfg.n_layers * (per_layer_model_dtype * elem_size + per_layer_fp32 * 4) +
                            4 * cfg.vocab_size * 4;
  return per_token * seq_len * 3 / 2;
}

int64_t ActivationDifferenceBytes(const model::ModelConfig& cfg, int64_t batch, int64_t seq_len) {
  return batch * seq_len * cfg.n_forward() * cfg.d_model * 4;
}

int StepsPerForward(const model::ModelConfig& cfg, int64_t batch, int64_t seq_len,
                    int64_t elem_size, int steps, int64_t budget_bytes) {
  const int64_t per_step = std::max<int64_t>(
      1, EstimateGradPassBytesPerRow(cfg, seq_len, elem_size) * batch);
  const int64_t left = budget_bytes - ActivationDifferenceBytes(cfg, batch, seq_len);
  const int64_t fit = left > 0 ? left / per_step : 0;
  return static_cast<int>(std::clamp<int64_t>(fit, 1, std::max(1, steps)));
}

}  // namespace fc::attribution
