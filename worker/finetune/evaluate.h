// Held-out evaluation of a causal LM on prompt/answer rows (algorithms.md 6.8):
//   accuracy = fraction of rows whose answer tokens are all the argmax predictions when the
//              prompt + answer is fed teacher-forced. That is exactly "greedy decoding after the
//              prompt reproduces the answer" (each greedy step sees the same prefix), but costs
//              one forward per batch instead of one per answer token.
//   loss     = mean cross-entropy of the answer tokens.
// Runs under NoGradGuard in eval mode and restores the module's previous training flag.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/finetune/examples.h"
#include "worker/model/causal_lm.h"

namespace fc::finetune {

struct EvalResult {
  double loss = 0;
  double accuracy = 0;
  int64_t correct = 0;
  int64_t total = 0;
};

StatusOr<EvalResult> EvaluateHeldOut(model::CausalLM& model, const std::vector<EvalExample>& rows,
                                     int64_t batch_size, int64_t pad_id);

}  // namespace fc::finetune
