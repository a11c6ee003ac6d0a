// Circuit-discovery inputs as token ids (algorithms.md 3.1), without tensors: attribution pads
// them into [B, P] batches.
//
// Each prompt is tokenized with BOS prepended (TransformerLens prepend_bos=True; option), and
// optionally with "\n" appended, the fine-tuning prompt format (algorithms.md 12.1: score the
// position the fine-tuned model answers from). Clean and corrupted must have the same token
// count: positions are patched 1:1 and the metric reads position length-1 of both; the original
// never checked this (silent misalignment), here a mismatch is an error naming the row.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/data/task_row.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::data {

struct CircuitPromptOptions {
  bool prepend_bos = true;
  bool append_newline = false;  // prompt + "\n" (fine-tuning format)
};

struct CircuitRow {
  std::vector<int64_t> clean_ids;
  std::vector<int64_t> corrupted_ids;  // same size as clean_ids
  int64_t length = 0;                  // tokens incl. BOS; the metric reads position length - 1
  int64_t label_id = 0;                // the single token of the label (no leading space)
};

StatusOr<std::vector<CircuitRow>> BuildCircuitBatchRows(const text::Tokenizer& tokenizer,
                                                        const std::vector<TaskRow>& rows,
                                                        const CircuitPromptOptions& options = {});

}  // namespace fc::data
