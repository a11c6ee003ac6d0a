// Memory planning of attribution: how many IG steps share one forward (algorithms.md 12,
// "batch all m IG steps as one forward of size m*B when memory allows").
//
// The estimate is a deliberately rough upper bound of what one row (one example at one step) of
// a gradient pass with every destination input retained keeps alive until backward ends, per
// token and layer (elements): per-head q/k/v inputs, their LayerNorm outputs and gradients
// (~14 H D), q/k/v/rotary copies and the attention output (~10 D), the MLP hidden activations
// (2 d_mlp), attention scores and probabilities (3 H P, float32), and the logits with their
// log-softmax and gradient (4 V, float32). A factor 1.5 covers autograd's transient buffers.
// bench/attribution measures the real peak against it.
#pragma once

#include <cstdint>

#include "worker/model/config.h"

namespace fc::attribution {

// Bytes of one row of length `seq_len` in a gradient pass; `elem_size` = model dtype bytes.
int64_t EstimateGradPassBytesPerRow(const model::ModelConfig& cfg, int64_t seq_len,
                                    int64_t elem_size);

// Bytes of the float32 activation difference [B, P, n_forward, D] attribution keeps per batch.
int64_t ActivationDifferenceBytes(const model::ModelConfig& cfg, int64_t batch, int64_t seq_len);

// Steps per forward: all `steps` when they fit in `budget_bytes` next to the activation
// difference, else the largest count that fits, at least 1 (micro-batching never fails; the
// budget is advice, not a hard limit).
int StepsPerForward(const model::ModelConfig& cfg, int64_t batch, int64_t seq_len,
                    int64_t elem_size, int steps, int64_t budget_bytes);

}  // namespace fc::attribution
