// Greedy next-token prediction and exact-match accuracy on id rows (algorithms.md 5.2, 6.8).
// Rows are right padded; lengths[i] counts the real tokens of row i (incl. BOS); the prediction
// for row i is argmax of the logits at position lengths[i]-1.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/model/causal_lm.h"

namespace fc::model {

// ids [B,P] int64, lengths [B] int64 (1 <= len <= P) -> argmax ids [B] int64 (CPU).
StatusOr<torch::Tensor> GreedyNextTokens(CausalLM& model, const torch::Tensor& ids,
                                         const torch::Tensor& lengths);

struct AccuracyResult {
  int64_t correct = 0;
  int64_t total = 0;
  double accuracy() const { return total == 0 ? 0.0 : static_cast<double>(correct) / total; }
  std::vector<int64_t> predicted;  // one id per row
};

// Rows of token ids (unpadded), each with its expected next token id. Runs in batches of
// `batch_size` padded with `pad_id` under NoGradGuard.
StatusOr<AccuracyResult> ExactMatchAccuracy(CausalLM& model,
                                            const std::vector<std::vector<int64_t>>& rows,
                                            const std::vector<int64_t>& expected,
                                            int64_t batch_size = 32, int64_t pad_id = 0);

}  // namespace fc::model
