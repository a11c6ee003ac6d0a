// The trainer's inputs, already tokenized: what fc::data::BuildFinetuneExample produces for
// training rows (ids + labels with -100 on the prompt and, by default, on padding) and the
// held-out rows used for exact-match accuracy (prompt ids + answer ids).
//
// Collate right-pads a batch to its longest row with pad_id (labels -100 there): causal
// attention never lets real positions see the pads, so no attention mask is needed.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "common/status.h"

namespace fc::finetune {

struct TrainExample {
  std::vector<int64_t> ids;
  std::vector<int64_t> labels;  // same length as ids; -100 = not trained on
};

struct EvalExample {
  std::vector<int64_t> prompt;  // e.g. tokens of "... 72 - 46 =\n"
  std::vector<int64_t> answer;  // e.g. tokens of "26"; correct = greedy decoding yields exactly these
};

struct Batch {
  torch::Tensor ids;     // [B,P] int64
  torch::Tensor labels;  // [B,P] int64
};

StatusOr<Batch> CollateTrain(const std::vector<TrainExample>& rows, const std::vector<int64_t>& indices,
                             int64_t pad_id);

// Every row non-empty, ids/labels of equal length, ids within [0, vocab_size).
Status ValidateTrainExamples(const std::vector<TrainExample>& rows, int64_t vocab_size);
Status ValidateEvalExamples(const std::vector<EvalExample>& rows, int64_t vocab_size);

}  // namespace fc::finetune
