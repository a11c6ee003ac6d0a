#include "worker/model/predict.h"

#include <algorithm>

namespace fc::model {

StatusOr<torch::Tensor> GreedyNextTokens(CausalLM& model, const torch::Tensor& ids,
                                         const torch::Tensor& lengths) {
  if (ids.dim() != 2 || ids.scalar_type() != torch::kInt64) {
    return InvalidArgumentError("GreedyNextTokens: ids must be [B,P] int64, got {} of {}",
                                fmt::format("{}", ids.dim()), std::string(c10::toString(ids.scalar_type())));
  }
  if (lengths.dim() != 1 || lengths.size(0) != ids.size(0)) {
    return InvalidArgumentError("GreedyNextTokens: lengths must be [{}], got {} dims", ids.size(0),
                                lengths.dim());
  }
  torch::Tensor len = lengths.to(torch::kCPU, torch::kInt64);
  const int64_t p = ids.size(1);
  for (int64_t i = 0; i < len.size(0); ++i) {
    const int64_t n = len[i].item<int64_t>();
    if (n < 1 || n > p) {
      return InvalidArgumentError("GreedyNextTokens: row {} has length {}, must be in [1, {}]", i,
                                  n, p);
    }
  }
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor logits = model.Forward(ids);                    // [B,P,V]
    torch::Tensor last = (len - 1).to(logits.device());           // [B]
    torch::Tensor rows = torch::arange(ids.size(0), last.options());
    torch::Tensor at = logits.index({rows, last});                // [B,V]
    return at.argmax(-1).to(torch::kCPU);                         // [B]
  } catch (const c10::Error& e) {
    return InternalError("GreedyNextTokens: forward failed: {}", e.what_without_backtrace());
  }
}

StatusOr<AccuracyResult> ExactMatchAccuracy(CausalLM& model,
                                            const std::vector<std::vector<int64_t>>& rows,
                                            const std::vector<int64_t>& expected,
                                            int64_t batch_size, int64_t pad_id) {
  if (rows.size() != expected.size()) {
    return InvalidArgumentError("ExactMatchAccuracy: {} rows but {} expected ids", rows.size(),
                                expected.size());
  }
  if (batch_size < 1) return InvalidArgumentError("ExactMatchAccuracy: batch_size must be >= 1");
  AccuracyResult result;
  for (size_t start = 0; start < rows.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(rows.size(), start + static_cast<size_t>(batch_size));
    int64_t max_len = 0;
    for (size_t i = start; i < end; ++i) {
      if (rows[i].empty()) return InvalidArgumentError("ExactMatchAccuracy: row {} is empty", i);
      max_len = std::max<int64_t>(max_len, static_cast<int64_t>(rows[i].size()));
    }
    const int64_t b = static_cast<int64_t>(end - start);
    torch::Tensor ids = torch::full({b, max_len}, pad_id, torch::kInt64);  // right padded
    torch::Tensor lens = torch::empty({b}, torch::kInt64);
    auto ids_a = ids.accessor<int64_t, 2>();
    for (int64_t r = 0; r < b; ++r) {
      const auto& row = rows[start + r];
      for (size_t t = 0; t < row.size(); ++t) ids_a[r][static_cast<int64_t>(t)] = row[t];
      lens[r] = static_cast<int64_t>(row.size());
    }
    FC_ASSIGN_OR_RETURN(torch::Tensor pred, GreedyNextTokens(model, ids, lens));
    for (int64_t r = 0; r < b; ++r) {
      const int64_t got = pred[r].item<int64_t>();
      result.predicted.push_back(got);
      if (got == expected[start + r]) ++result.correct;
      ++result.total;
    }
  }
  return result;
}

}  // namespace fc::model
