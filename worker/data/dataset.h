// One call from dataset parameters to the two splits on disk: what the `dataset` job kind does
// (generate, split, write ft.jsonl + circuit.jsonl) and what consumers read back.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "worker/data/splits.h"
#include "worker/data/tasks.h"

namespace fc::data {

struct DatasetSpec {
  TaskOptions task;
  std::optional<double> circuit_fraction;  // unset: DefaultCircuitFraction(task)
  uint64_t split_seed = 42;                // the paper's random_state=42
};

// GenerateTask + SplitRows. Splitting a derived compositional subtask with the same seed keeps it
// line-aligned with the compositional split (the permutation depends only on size and seed).
StatusOr<DatasetSplit> MakeDataset(const DatasetSpec& spec, const text::Tokenizer& tokenizer);

constexpr char kFinetuneFile[] = "ft.jsonl";      // fine-tune rows (WriteFinetuneJsonl)
constexpr char kCircuitFile[] = "circuit.jsonl";  // circuit rows (WriteCircuitJsonl)

// Writes dir/ft.jsonl and dir/circuit.jsonl (creating dir).
Status WriteDatasetDir(const std::string& dir, const DatasetSplit& split);
StatusOr<DatasetSplit> ReadDatasetDir(const std::string& dir);

}  // namespace fc::data
