#include "worker/finetune/evaluate.h"

#include <algorithm>

namespace fc::finetune {

StatusOr<EvalResult> EvaluateHeldOut(model::CausalLM& model, const std::vector<EvalExample>& rows,
                                     int64_t batch_size, int64_t pad_id) {
  EvalResult out;
  if (rows.empty()) return out;
  if (batch_size < 1) return InvalidArgumentError("evaluation field 'batch_size': must be >= 1, got {}", batch_size);
  FC_RETURN_IF_ERROR(ValidateEvalExamples(rows, model.config().vocab_size));
  const bool was_training = model.module().is_training();
  model.module().eval();
  torch::NoGradGuard no_grad;
  double loss_sum = 0;
  int64_t loss_count = 0;
  try {
    for (size_t start = 0; start < rows.size(); start += batch_size) {
      const size_t end = std::min(rows.size(), start + static_cast<size_t>(batch_size));
      int64_t max_len = 0;
      for (size_t i = start; i < end; ++i) {
        max_len = std::max<int64_t>(max_len, rows[i].prompt.size() + rows[i].answer.size());
      }
      const int64_t B = static_cast<int64_t>(end - start);
      torch::Tensor ids = torch::full({B, max_len}, pad_id, torch::kInt64);
      auto ia = ids.accessor<int64_t, 2>();
      for (int64_t b = 0; b < B; ++b) {
        const auto& r = rows[start + b];
        int64_t t = 0;
        for (int64_t id : r.prompt) ia[b][t++] = id;
        for (int64_t id : r.answer) ia[b][t++] = id;
      }
      torch::Tensor logp = torch::log_softmax(model.Forward(ids).to(torch::kFloat32), -1).to(torch::kCPU);  // [B,P,V]
      torch::Tensor pred = logp.argmax(-1);                                                                 // [B,P]
      auto pa = pred.accessor<int64_t, 2>();
      auto la = logp.accessor<float, 3>();
      for (int64_t b = 0; b < B; ++b) {
        const auto& r = rows[start + b];
        bool all = true;
        for (size_t j = 0; j < r.answer.size(); ++j) {
          const int64_t pos = static_cast<int64_t>(r.prompt.size() + j) - 1;
          all = all && pa[b][pos] == r.answer[j];
          loss_sum -= la[b][pos][r.answer[j]];
          ++loss_count;
        }
        out.correct += all ? 1 : 0;
        ++out.total;
      }
    }
  } catch (const c10::Error& e) {
    if (was_training) model.module().train();
    return InternalError("evaluation forward failed: {}", e.what_without_backtrace());
  }
  if (was_training) model.module().train();
  out.accuracy = static_cast<double>(out.correct) / static_cast<double>(out.total);
  out.loss = loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0;
  return out;
}

}  // namespace fc::finetune
