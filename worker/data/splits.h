// Fine-tune / circuit splits (algorithms.md 1.7), robustness splits and row perturbation (10).
//
// All shuffles use Rng(seed) (rng.h), so results are reproducible but not numerically equal to
// sklearn's train_test_split(random_state=42) (numpy's generator is not reimplemented).
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "worker/data/task_row.h"
#include "worker/data/tasks.h"

namespace fc::data {

struct DatasetSplit {
  std::vector<TaskRow> finetune;
  std::vector<TaskRow> circuit;  // also the fine-tuning validation/test set, as in the paper
};

// Like train_test_split(test_size=circuit_fraction): a seeded permutation p of the rows;
// circuit = rows p[0 .. ceil(fraction * n)), finetune = the rest, both in permutation order.
// Error unless 0 < fraction < 1 and both parts are non-empty.
StatusOr<DatasetSplit> SplitRows(const std::vector<TaskRow>& rows, double circuit_fraction, uint64_t seed);

// [ASSUMPTION] of algorithms.md 1.7 (the paper's script is not released): the circuit rows
// plus the first |circuit| fine-tune rows, shuffled with `seed`, cut into `num_splits` equal
// disjoint parts (a remainder of fewer than num_splits rows is dropped). For Add/Sub-100 this
// gives the paper's 5 x 200 rows.
StatusOr<std::vector<std::vector<TaskRow>>> RobustnessSplits(const DatasetSplit& split, int num_splits = 5,
                                                             uint64_t seed = 42);

// [ASSUMPTION] of algorithms.md 10: replaces round(fraction * n) rows, at positions chosen by
// `seed`, with rows of `fresh` (in order) whose clean prompt occurs neither in `rows` nor among
// the replacements already used. Error if `fresh` has too few such rows.
StatusOr<std::vector<TaskRow>> PerturbRows(const std::vector<TaskRow>& rows, double fraction,
                                           const std::vector<TaskRow>& fresh, uint64_t seed);

// PerturbRows with fresh rows generated for `task` (its seed replaced by a value derived from
// `seed`, size = rows.size()).
StatusOr<std::vector<TaskRow>> PerturbWithFreshRows(const std::vector<TaskRow>& rows, double fraction,
                                                    TaskOptions task, const text::Tokenizer& tokenizer,
                                                    uint64_t seed);

}  // namespace fc::data
