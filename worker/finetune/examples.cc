#include "worker/finetune/examples.h"

#include <algorithm>

#include "worker/finetune/loss.h"

namespace fc::finetune {

StatusOr<Batch> CollateTrain(const std::vector<TrainExample>& rows, const std::vector<int64_t>& indices,
                             int64_t pad_id) {
  if (indices.empty()) return InvalidArgumentError("collate: empty batch");
  int64_t max_len = 0;
  for (int64_t i : indices) max_len = std::max<int64_t>(max_len, rows.at(i).ids.size());
  const int64_t B = static_cast<int64_t>(indices.size());
  torch::Tensor ids = torch::full({B, max_len}, pad_id, torch::kInt64);
  torch::Tensor labels = torch::full({B, max_len}, kIgnoreLabel, torch::kInt64);
  auto ia = ids.accessor<int64_t, 2>();
  auto la = labels.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const TrainExample& r = rows.at(indices[b]);
    for (size_t t = 0; t < r.ids.size(); ++t) {
      ia[b][t] = r.ids[t];
      la[b][t] = r.labels[t];
    }
  }
  return Batch{ids, labels};
}

Status ValidateTrainExamples(const std::vector<TrainExample>& rows, int64_t vocab_size) {
  if (rows.empty()) return InvalidArgumentError("training data: no rows");
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (r.ids.size() < 2) return InvalidArgumentError("training row {}: needs at least 2 tokens, has {}", i, r.ids.size());
    if (r.ids.size() != r.labels.size()) {
      return InvalidArgumentError("training row {}: {} ids but {} labels", i, r.ids.size(), r.labels.size());
    }
    for (size_t t = 0; t < r.ids.size(); ++t) {
      if (r.ids[t] < 0 || r.ids[t] >= vocab_size) {
        return InvalidArgumentError("training row {} position {}: token id {} outside the vocabulary [0, {})", i, t,
                                    r.ids[t], vocab_size);
      }
      if (r.labels[t] != kIgnoreLabel && (r.labels[t] < 0 || r.labels[t] >= vocab_size)) {
        return InvalidArgumentError("training row {} position {}: label {} is neither -100 nor in [0, {})", i, t,
                                    r.labels[t], vocab_size);
      }
    }
  }
  return Status::OK();
}

Status ValidateEvalExamples(const std::vector<EvalExample>& rows, int64_t vocab_size) {
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (r.prompt.empty() || r.answer.empty()) {
      return InvalidArgumentError("held-out row {}: prompt ({} tokens) and answer ({} tokens) must be non-empty", i,
                                  r.prompt.size(), r.answer.size());
    }
    for (int64_t id : r.prompt) {
      if (id < 0 || id >= vocab_size) return InvalidArgumentError("held-out row {}: prompt token {} outside the vocabulary", i, id);
    }
    for (int64_t id : r.answer) {
      if (id < 0 || id >= vocab_size) return InvalidArgumentError("held-out row {}: answer token {} outside the vocabulary", i, id);
    }
  }
  return Status::OK();
}

}  // namespace fc::finetune
