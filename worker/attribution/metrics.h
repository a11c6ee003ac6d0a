// Metrics of attribution and evaluation (algorithms.md 5.2), all read at position len_i - 1.
//
// Every metric works on plain logits tensors so it can be tested without a model:
//   logits, reference: [B, P, V] (any float dtype; computed in float32), lengths: [B] int64,
//   labels / incorrect: [B] int64 token ids.
// PerExampleMetric returns [B] float32, differentiable w.r.t. `logits` (the reference is
// treated as a constant). Bad shapes or token ids come back as INVALID_ARGUMENT naming the
// field; no exception escapes.
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/status.h"

namespace fc::attribution {

enum class MetricKind {
  kKl,         // KL(p_ref || p_model), the paper's metric (needs a reference)
  kLogitDiff,  // logit[label] - logit[incorrect]
  kProbDiff,   // p[label] - p[incorrect]
};

// The paper divides KL by V (F.kl_div(...).mean(-1)); the sum is the textbook KL. Both give
// the same ranking of edges (algorithms.md 12.2).
enum class KlReduction { kMeanOverVocab, kSumOverVocab };

struct MetricSpec {
  MetricKind kind = MetricKind::kKl;
  KlReduction kl_reduction = KlReduction::kMeanOverVocab;
};

StatusOr<MetricKind> ParseMetricKind(const std::string& name);  // "kl", "logit_diff", "prob_diff"
const char* MetricKindName(MetricKind kind);

// Rows of `logits` [B,P,V] at position lengths[i]-1 -> [B,V]. Checks 1 <= len <= P.
StatusOr<torch::Tensor> GatherLastPosition(const torch::Tensor& logits,
                                           const torch::Tensor& lengths);

// KL per example over the last-position rows, log_softmax based (no -inf/NaN from log(0)).
// ref_last, model_last: [B,V]. Returns [B] float32.
torch::Tensor KlDivergence(const torch::Tensor& ref_last, const torch::Tensor& model_last,
                           KlReduction reduction);

// The metric of `spec` per example, [B] float32. `reference` is only read by KL (it may be
// undefined otherwise); `labels`/`incorrect` only by the difference metrics.
StatusOr<torch::Tensor> PerExampleMetric(const MetricSpec& spec, const torch::Tensor& logits,
                                         const torch::Tensor& reference,
                                         const torch::Tensor& lengths,
                                         const torch::Tensor& labels,
                                         const torch::Tensor& incorrect);

// The same on rows already gathered at len-1: last [B,V] (differentiable), ref_last [B,V] (KL
// only), labels / incorrect [B] (difference metrics only).
StatusOr<torch::Tensor> MetricOnLastRows(const MetricSpec& spec, const torch::Tensor& last,
                                         const torch::Tensor& ref_last,
                                         const torch::Tensor& labels,
                                         const torch::Tensor& incorrect);

// Exact-match accuracy at len-1: fraction of rows whose argmax token equals labels[i] (the
// first token of the answer; decoding and string comparison are the caller's business).
StatusOr<double> ExactMatchAccuracy(const torch::Tensor& logits, const torch::Tensor& lengths,
                                    const torch::Tensor& labels);

}  // namespace fc::attribution
