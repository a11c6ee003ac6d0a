#include "worker/attribution/metrics.h"

namespace fc::attribution {

StatusOr<MetricKind> ParseMetricKind(const std::string& name) {
  if (name == "kl") return MetricKind::kKl;
  if (name == "logit_diff") return MetricKind::kLogitDiff;
  if (name == "prob_diff") return MetricKind::kProbDiff;
  return InvalidArgumentError("metric: unknown name '{}' (expected kl, logit_diff, prob_diff)",
                              name);
}

const char* MetricKindName(MetricKind kind) {
  switch (kind) {
    case MetricKind::kKl: return "kl";
    case MetricKind::kLogitDiff: return "logit_diff";
    case MetricKind::kProbDiff: return "prob_diff";
  }
  return "unknown";
}

StatusOr<torch::Tensor> GatherLastPosition(const torch::Tensor& logits,
                                           const torch::Tensor& lengths) {
  if (!logits.defined() || logits.dim() != 3) {
    return InvalidArgumentError("metric: logits must be [B,P,V], got {} dims",
                                logits.defined() ? logits.dim() : 0);
  }
  if (!lengths.defined() || lengths.dim() != 1 || lengths.size(0) != logits.size(0)) {
    return InvalidArgumentError("metric: lengths must be [B={}]", logits.size(0));
  }
  torch::Tensor len = lengths.to(torch::kCPU, torch::kLong);
  const int64_t p = logits.size(1);
  const int64_t min_len = len.min().item<int64_t>();
  const int64_t max_len = len.max().item<int64_t>();
  if (min_len < 1 || max_len > p) {
    return InvalidArgumentError("metric: lengths must lie in [1, {}], got [{}, {}]", p, min_len,
                                max_len);
  }
  torch::Tensor idx = (len - 1).to(logits.device()).view({-1, 1, 1}).expand(
      {logits.size(0), 1, logits.size(2)});
  return logits.gather(1, idx).squeeze(1);  // [B,V]
}

torch::Tensor KlDivergence(const torch::Tensor& ref_last, const torch::Tensor& model_last,
                           KlReduction reduction) {
  torch::Tensor log_ref = torch::log_softmax(ref_last.to(torch::kFloat), -1);
  torch::Tensor log_model = torch::log_softmax(model_last.to(torch::kFloat), -1);
  torch::Tensor kl = (log_ref.exp() * (log_ref - log_model)).sum(-1);  // [B]
  if (reduction == KlReduction::kMeanOverVocab) kl = kl / static_cast<double>(ref_last.size(-1));
  return kl;
}

namespace {

Status CheckTokenIds(const char* field, const torch::Tensor& ids, int64_t b, int64_t v) {
  if (!ids.defined() || ids.dim() != 1 || ids.size(0) != b) {
    return InvalidArgumentError("metric: '{}' must be [B={}] token ids", field, b);
  }
  torch::Tensor cpu = ids.to(torch::kCPU, torch::kLong);
  torch::Tensor bad = (cpu < 0).logical_or(cpu >= v);
  if (bad.any().item<bool>()) {
    const int64_t i = bad.nonzero()[0][0].item<int64_t>();
    return InvalidArgumentError("metric: row {} field '{}': token id {} outside [0, {})", i,
                                field, cpu[i].item<int64_t>(), v);
  }
  return Status::OK();
}

}  // namespace

StatusOr<torch::Tensor> MetricOnLastRows(const MetricSpec& spec, const torch::Tensor& last_in,
                                         const torch::Tensor& ref_last,
                                         const torch::Tensor& labels,
                                         const torch::Tensor& incorrect) {
  if (!last_in.defined() || last_in.dim() != 2) {
    return InvalidArgumentError("metric: last-position logits must be [B,V]");
  }
  torch::Tensor last = last_in.to(torch::kFloat);
  const int64_t b = last.size(0), v = last.size(1);
  if (spec.kind == MetricKind::kKl) {
    if (!ref_last.defined() || ref_last.sizes() != last.sizes()) {
      return InvalidArgumentError(
          "metric kl: reference logits must be given and have the shape of the logits");
    }
    return KlDivergence(ref_last.detach(), last, spec.kl_reduction);
  }
  FC_RETURN_IF_ERROR(CheckTokenIds("label", labels, b, v));
  FC_RETURN_IF_ERROR(CheckTokenIds("incorrect", incorrect, b, v));
  torch::Tensor x = spec.kind == MetricKind::kProbDiff ? torch::softmax(last, -1) : last;
  torch::Tensor good = x.gather(1, labels.to(x.device(), torch::kLong).view({-1, 1})).squeeze(1);
  torch::Tensor bad = x.gather(1, incorrect.to(x.device(), torch::kLong).view({-1, 1})).squeeze(1);
  return good - bad;
}

StatusOr<torch::Tensor> PerExampleMetric(const MetricSpec& spec, const torch::Tensor& logits,
                                         const torch::Tensor& reference,
                                         const torch::Tensor& lengths,
                                         const torch::Tensor& labels,
                                         const torch::Tensor& incorrect) {
  FC_ASSIGN_OR_RETURN(torch::Tensor last, GatherLastPosition(logits, lengths));
  torch::Tensor ref_last;
  if (spec.kind == MetricKind::kKl) {
    if (!reference.defined() || reference.sizes() != logits.sizes()) {
      return InvalidArgumentError(
          "metric kl: reference logits must be given and have the shape of the logits");
    }
    FC_ASSIGN_OR_RETURN(ref_last, GatherLastPosition(reference, lengths));
  }
  return MetricOnLastRows(spec, last, ref_last, labels, incorrect);
}

StatusOr<double> ExactMatchAccuracy(const torch::Tensor& logits, const torch::Tensor& lengths,
                                    const torch::Tensor& labels) {
  FC_ASSIGN_OR_RETURN(torch::Tensor last, GatherLastPosition(logits, lengths));
  FC_RETURN_IF_ERROR(CheckTokenIds("label", labels, last.size(0), last.size(1)));
  torch::Tensor hit = last.argmax(-1).to(torch::kCPU).eq(labels.to(torch::kCPU, torch::kLong));
  return hit.to(torch::kDouble).mean().item<double>();
}

}  // namespace fc::attribution
