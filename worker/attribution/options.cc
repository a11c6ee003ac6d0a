#include "worker/attribution/options.h"

namespace fc::attribution {

StatusOr<Method> ParseMethod(const std::string& name) {
  if (name == "eap") return Method::kEap;
  if (name == "eap_ig" || name == "eap_ig_inputs") return Method::kEapIgInputs;
  if (name == "clean_corrupted") return Method::kCleanCorrupted;
  if (name == "eap_ig_activations") return Method::kEapIgActivations;
  return InvalidArgumentError(
      "method: unknown value '{}' (expected eap, eap_ig, clean_corrupted, eap_ig_activations)",
      name);
}

const char* MethodName(Method method) {
  switch (method) {
    case Method::kEap: return "eap";
    case Method::kEapIgInputs: return "eap_ig";
    case Method::kCleanCorrupted: return "clean_corrupted";
    case Method::kEapIgActivations: return "eap_ig_activations";
  }
  return "unknown";
}

StatusOr<Reference> ParseReference(const std::string& name) {
  if (name == "default") return Reference::kMethodDefault;
  if (name == "clean") return Reference::kClean;
  if (name == "corrupted") return Reference::kCorrupted;
  return InvalidArgumentError("reference: unknown value '{}' (expected default, clean, corrupted)",
                              name);
}

StatusOr<ScoreWeighting> ParseScoreWeighting(const std::string& name) {
  if (name == "per_example") return ScoreWeighting::kPerExample;
  if (name == "paper_batch_mean") return ScoreWeighting::kPaperBatchMean;
  return InvalidArgumentError(
      "score_weighting: unknown value '{}' (expected per_example, paper_batch_mean)", name);
}

Reference ResolveReference(const AttributionOptions& options) {
  if (options.reference != Reference::kMethodDefault) return options.reference;
  return options.method == Method::kEap ? Reference::kCorrupted : Reference::kClean;
}

Status ValidateOptions(const AttributionOptions& options) {
  const bool uses_steps = options.method == Method::kEapIgInputs ||
                          options.method == Method::kEapIgActivations;
  if (uses_steps && (options.ig_steps < 1 || options.ig_steps > 100000)) {
    return InvalidArgumentError("ig_steps: must be in [1, 100000], got {}", options.ig_steps);
  }
  if (options.memory_budget_bytes <= 0) {
    return InvalidArgumentError("memory_budget_bytes: must be > 0, got {}",
                                options.memory_budget_bytes);
  }
  if (options.steps_per_forward < 0) {
    return InvalidArgumentError("steps_per_forward: must be >= 0, got {}",
                                options.steps_per_forward);
  }
  return Status::OK();
}

}  // namespace fc::attribution
