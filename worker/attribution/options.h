// Options of attribution (algorithms.md 3, 12). Defaults reproduce the paper's method
// (EAP-IG on inputs, 5 steps, right Riemann points, KL mean over vocabulary, clean reference)
// except the score weighting, where the default fixes the double averaging (12.5) and
// ScoreWeighting::kPaperBatchMean restores the original.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "worker/attribution/ig_schedule.h"
#include "worker/attribution/metrics.h"

namespace fc::attribution {

enum class Method {
  kEap,               // one gradient at the clean input (3.4)
  kEapIgInputs,       // integrated gradients along the token-embedding path (3.5), the paper's
  kCleanCorrupted,    // gradients at the clean and the corrupted input, averaged (3.6)
  kEapIgActivations,  // IG per node group, one group interpolated at a time (3.6); O(m L) passes
};

// Which logits the metric compares against (KL needs one; the difference metrics ignore it).
enum class Reference {
  kMethodDefault,  // what [EAP-old] passed: corrupted for kEap, clean for every IG variant
  kClean,
  kCorrupted,
};

// How examples are weighted in the scores.
enum class ScoreWeighting {
  kPerExample,      // S = sum over examples / N (each example weighs 1/N; default)
  kPaperBatchMean,  // S = sum over batches of (batch-mean metric) / N, as [EAP-old] (12.5)
};

struct AttributionOptions {
  Method method = Method::kEapIgInputs;
  int ig_steps = 5;                          // m; ignored by kEap and kCleanCorrupted
  IgEndpoint ig_endpoint = IgEndpoint::kRight;
  MetricSpec metric;                         // default KL, mean over vocabulary
  Reference reference = Reference::kMethodDefault;
  ScoreWeighting weighting = ScoreWeighting::kPerExample;
  // Bytes the gradient passes may use; decides how many IG steps share one forward (all m when
  // they fit, else fewer: micro-batching). See memory_plan.h for the estimate.
  int64_t memory_budget_bytes = int64_t{4} << 30;
  // > 0 forces this many steps per forward (tests, benchmarks); 0 derives it from the budget.
  int steps_per_forward = 0;
};

StatusOr<Method> ParseMethod(const std::string& name);  // eap, eap_ig, clean_corrupted, eap_ig_activations
const char* MethodName(Method method);
StatusOr<Reference> ParseReference(const std::string& name);  // default, clean, corrupted
StatusOr<ScoreWeighting> ParseScoreWeighting(const std::string& name);  // per_example, paper_batch_mean

// The reference the metric actually uses for `options` (resolves kMethodDefault).
Reference ResolveReference(const AttributionOptions& options);

Status ValidateOptions(const AttributionOptions& options);

}  // namespace fc::attribution
