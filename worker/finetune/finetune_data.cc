#include "worker/finetune/finetune_data.h"

#include "worker/data/finetune_example.h"
#include "worker/finetune/loss.h"

namespace fc::finetune {

namespace {
// The FT input: the clean prompt, ensured to end with "=" (algorithms.md 6.1).
std::string Input(const data::TaskRow& row) {
  std::string s = row.clean;
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}
}  // namespace

StatusOr<std::vector<TrainExample>> BuildTrainExamples(const text::Tokenizer& tok, const std::vector<data::TaskRow>& rows,
                                                       const ExampleOptions& o) {
  std::vector<TrainExample> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    data::TaskRow row = rows[i];
    row.clean = Input(row);
    auto ex = data::BuildFinetuneExample(tok, row, o.max_length, /*mask_pad_after_eos=*/!o.label_all_pads);
    if (!ex.ok()) return ex.status().WithContext("training row " + std::to_string(i));
    size_t keep = 0;
    for (size_t t = 0; t < ex->input_ids.size(); ++t) {
      if (ex->attention_mask[t] == 1 || ex->labels[t] != kIgnoreLabel) keep = t + 1;
    }
    TrainExample te;
    te.ids.assign(ex->input_ids.begin(), ex->input_ids.begin() + keep);
    te.labels.assign(ex->labels.begin(), ex->labels.begin() + keep);
    out.push_back(std::move(te));
  }
  return out;
}

StatusOr<std::vector<EvalExample>> BuildEvalExamples(const text::Tokenizer& tok, const std::vector<data::TaskRow>& rows) {
  std::vector<EvalExample> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EvalExample e;
    e.prompt = tok.EncodeWithSpecialTokens(Input(rows[i]) + "\n");
    e.answer = tok.Encode(rows[i].label);
    if (e.answer.empty()) return InvalidArgumentError("held-out row {}: empty label", i);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace fc::finetune
