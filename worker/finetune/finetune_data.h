// Task rows -> trainer inputs. Training rows go through fc::data::BuildFinetuneExample (the loss
// mask of algorithms.md 6.2, owned by worker/data) and are then trimmed of trailing positions
// that carry neither a real token nor a label, so padding costs no compute. Held-out rows become
// (tokens of input + "\n", tokens of label) for exact-match accuracy.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/data/task_row.h"
#include "worker/finetune/examples.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::finetune {

struct ExampleOptions {
  int64_t max_length = 512;  // truncation limit (the paper's 32 counts BPE tokens; char-level needs more)
  // The original labels every pad/EOS position (algorithms.md 12.12); false (default) keeps
  // only the first EOS after the answer as a target.
  bool label_all_pads = false;
};

StatusOr<std::vector<TrainExample>> BuildTrainExamples(const text::Tokenizer& tokenizer,
                                                       const std::vector<data::TaskRow>& rows,
                                                       const ExampleOptions& options);
StatusOr<std::vector<EvalExample>> BuildEvalExamples(const text::Tokenizer& tokenizer,
                                                     const std::vector<data::TaskRow>& rows);

}  // namespace fc::finetune
