// One fine-tuning example as token ids (algorithms.md 6.2), without tensors: the trainer stacks
// these into [B, max_length] int64 tensors.
//
// text = input + "\n" + output, tokenized as HF `tokenizer(text)` does (post-processor applied:
// no BOS for GPT-2/Pythia/our char tokenizer), truncated to max_length, right-padded with the
// EOS id (the paper sets pad_token = eos_token; pad_id() only if there is no EOS);
// attention_mask is 1 on real tokens.
// labels = input ids with the first prompt_len = len(tokenizer(input + "\n")) positions = -100.
//   mask_pad_after_eos = true (default, fixes algorithms.md 12.12): the first pad stays as the
//     EOS target, every later pad is -100, so the model learns "answer, EOS" and not a run of EOS.
//   mask_pad_after_eos = false: the original behaviour, every pad position is a target.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/data/task_row.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::data {

constexpr int64_t kIgnoreIndex = -100;

struct FinetuneExample {
  std::vector<int64_t> input_ids;       // [max_length]
  std::vector<int64_t> attention_mask;  // [max_length], 1 real / 0 pad
  std::vector<int64_t> labels;          // [max_length], kIgnoreIndex where no loss
};

// Error (naming the prompt) when the tokenizer has no pad/EOS, the label is empty, or the
// prompt leaves no room for an answer token within max_length.
StatusOr<FinetuneExample> BuildFinetuneExample(const text::Tokenizer& tokenizer, const TaskRow& row,
                                               int64_t max_length, bool mask_pad_after_eos = true);

// The prompt a fine-tuned model answers from: ids of input + "\n" as HF tokenizes it (what
// accuracy evaluation feeds before greedy decoding; algorithms.md 6.8).
std::vector<int64_t> FinetunePromptIds(const text::Tokenizer& tokenizer, const TaskRow& row);

// [ASSUMPTION] 6.8: the generated ids decode (special tokens dropped, surrounding white space
// stripped) to exactly the label.
bool AnswerMatches(const text::Tokenizer& tokenizer, const std::vector<int64_t>& generated, const TaskRow& row);

}  // namespace fc::data
