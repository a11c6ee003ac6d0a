// Evaluation of a circuit with the edge-patched forward (algorithms.md 5): metric of the full
// model, the corrupted run and the circuit, faithfulness both as the paper computed it and as the
// normalised metric, and exact-match accuracy at len-1.
//
// Faithfulness (all averages give every example the same weight, 5.3):
//   kl_faithfulness_pct = (1 - |B - C| / B) * 100 with B = mean_i KL(p_corr || p_clean model),
//     C = mean_i KL(p_corr || p_circuit) (paper: reference = corrupted logits; 1/V cancels).
//   normalized = (m(C) - m(corr)) / (m(clean) - m(corr)), m = mean of options.metric against
//     options.reference.
// Zero denominators (|den| <= 1e-12 * max(1, |numerator terms|)) give NaN and the matching
// *_defined flag false instead of a division by zero (12.15).
// An empty circuit (logits node out, or no kept edge into logits) evaluates to the corrupted
// logits exactly.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/attribution/batch.h"
#include "worker/attribution/metrics.h"
#include "worker/attribution/patched_forward.h"
#include "worker/model/causal_lm.h"

namespace fc::attribution {

struct EvaluationOptions {
  MetricSpec metric;                     // for the normalised faithfulness
  bool reference_is_corrupted = true;    // reference logits of a KL metric (paper: corrupted)
};

struct EvaluationResult {
  int64_t examples = 0;
  double metric_clean = 0, metric_corrupted = 0, metric_circuit = 0;  // means over examples
  double normalized_faithfulness = 0;
  bool normalized_defined = false;
  double kl_baseline = 0;  // B
  double kl_circuit = 0;   // C
  double kl_faithfulness_pct = 0;
  bool kl_defined = false;
  // Exact match of argmax at len-1 against labels; NaN when a row has no label (-1).
  double accuracy_clean = 0, accuracy_corrupted = 0, accuracy_circuit = 0;
};

StatusOr<EvaluationResult> EvaluateCircuit(model::CausalLM& model,
                                           const std::vector<Batch>& batches,
                                           const CircuitMask& circuit,
                                           const EvaluationOptions& options);

// Per-batch building block (tests use it): logits of the clean, corrupted and patched runs.
struct PatchedLogits {
  torch::Tensor clean, corrupted, circuit;  // [B,P,V]
};
StatusOr<PatchedLogits> RunPatched(model::CausalLM& model, const Batch& batch,
                                   const CircuitMask& circuit);

// The two faithfulness formulas on plain numbers (NaN + false for a zero denominator).
std::pair<double, bool> NormalizedFaithfulness(double m_circuit, double m_clean, double m_corr);
std::pair<double, bool> KlFaithfulnessPercent(double kl_baseline, double kl_circuit);

}  // namespace fc::attribution
