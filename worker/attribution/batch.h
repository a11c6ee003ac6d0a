// Batching of already tokenized (clean, corrupted, label) rows for attribution and evaluation.
//
// Rows come from the dataset/tokenizer side as plain id vectors (BOS included when the caller
// wants it: algorithms.md 3.1). MakeBatches checks every pair for equal token length, since the
// clean lengths are reused for the corrupted run and a mismatch would silently misalign the
// patching (algorithms.md 3.1, 12.6), and right-pads with `pad_id` (pads are never attended to by
// real positions under causal attention, 2.5).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace fc::attribution {

struct TokenizedRow {
  std::vector<int64_t> clean;      // token ids, BOS included if wanted
  std::vector<int64_t> corrupted;  // same length as clean
  int64_t label = -1;              // first token of the correct answer (-1: none)
  int64_t incorrect = -1;          // competing token for logit/prob diff (-1: none)
};

struct Batch {
  torch::Tensor clean_ids;      // [B,P] int64, right padded
  torch::Tensor corrupted_ids;  // [B,P] int64
  torch::Tensor lengths;        // [B] int64, real tokens per row (metrics read len-1)
  torch::Tensor labels;         // [B] int64 (-1 where the row had none)
  torch::Tensor incorrect;      // [B] int64 (-1 where the row had none)
  int64_t first_row = 0;        // index of the batch's first row in the input, for messages
  int64_t size() const { return clean_ids.size(0); }
};

// Splits `rows` into batches of at most `batch_size` rows. Errors (INVALID_ARGUMENT) name the
// row: empty rows, clean/corrupted length mismatch, negative ids.
StatusOr<std::vector<Batch>> MakeBatches(const std::vector<TokenizedRow>& rows,
                                         int64_t batch_size, int64_t pad_id);

// Total number of rows over `batches`.
int64_t CountRows(const std::vector<Batch>& batches);

}  // namespace fc::attribution
