#include "worker/data/finetune_example.h"

#include <algorithm>

namespace fc::data {

StatusOr<FinetuneExample> BuildFinetuneExample(const text::Tokenizer& tokenizer, const TaskRow& row,
                                               int64_t max_length, bool mask_pad_after_eos) {
  if (max_length < 2) return InvalidArgumentError("field 'max_length': must be >= 2, got {}", max_length);
  // The paper sets pad_token = eos_token whatever the tokenizer files say.
  std::optional<int64_t> pad = tokenizer.eos_id() ? tokenizer.eos_id() : tokenizer.pad_id();
  if (!pad) return FailedPreconditionError("tokenizer has neither an EOS nor a pad token");
  if (row.label.empty()) return InvalidArgumentError("fine-tune row '{}': empty label", row.clean);
  const std::string prompt = row.clean + "\n";
  std::vector<int64_t> ids = tokenizer.EncodeWithSpecialTokens(prompt + row.label);
  const auto prompt_len = static_cast<int64_t>(tokenizer.EncodeWithSpecialTokens(prompt).size());
  if (prompt_len >= max_length) {
    return InvalidArgumentError(
        "fine-tune row '{}': the prompt is {} tokens, max_length {} leaves no room for the answer; raise max_length",
        row.clean, prompt_len, max_length);
  }
  if (static_cast<int64_t>(ids.size()) > max_length) ids.resize(static_cast<size_t>(max_length));
  const auto n_real = static_cast<int64_t>(ids.size());

  FinetuneExample ex;
  ex.input_ids = ids;
  ex.input_ids.resize(static_cast<size_t>(max_length), *pad);
  ex.attention_mask.assign(static_cast<size_t>(max_length), 0);
  std::fill(ex.attention_mask.begin(), ex.attention_mask.begin() + n_real, 1);
  ex.labels = ex.input_ids;
  std::fill(ex.labels.begin(), ex.labels.begin() + prompt_len, kIgnoreIndex);
  if (mask_pad_after_eos) {
    for (int64_t p = n_real + 1; p < max_length; ++p) ex.labels[static_cast<size_t>(p)] = kIgnoreIndex;
  }
  return ex;
}

std::vector<int64_t> FinetunePromptIds(const text::Tokenizer& tokenizer, const TaskRow& row) {
  return tokenizer.EncodeWithSpecialTokens(row.clean + "\n");
}

bool AnswerMatches(const text::Tokenizer& tokenizer, const std::vector<int64_t>& generated, const TaskRow& row) {
  const std::string text = tokenizer.DecodeSkippingSpecial(generated);
  const size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return row.label.empty();
  const size_t e = text.find_last_not_of(" \t\r\n");
  return text.compare(b, e - b + 1, row.label) == 0;
}

}  // namespace fc::data
