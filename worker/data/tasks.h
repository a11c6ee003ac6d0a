// Task dataset generators of algorithms.md section 1: clean / corrupted / label rows.
//
// Every generator: seeded (Rng(seed), one stream per call, draws in a fixed order, so the same
// options and tokenizer give byte-identical rows on every platform); rows unique (by clean
// prompt); answers single tokens of `tokenizer` (Encode(label) has one token: the number
// without a leading space, as the paper's filters check); clean and corrupted prompts of equal
// token length (checked for every task, LCM included: the original LCM script did not check;
// mismatching candidates are regenerated). Balanced where the original balances (add/sub and
// mul/div: half per operator; compositional: half `*`, half `/`).
// Generation fails with INVALID_ARGUMENT, naming the task and counts, when `size` unique rows
// cannot be found within the attempt budget (e.g. a small max_operand or a tokenizer whose
// numbers are rarely single tokens).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/data/task_row.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::data {

enum class Task {
  kAddSub,               // "add_sub": a +/- b within max_operand (1.1)
  kMulDiv,               // "mul_div" (1.2)
  kSequence,             // "sequence": arithmetic / geometric (1.3)
  kLcm,                  // "lcm" (1.4)
  kFunction,             // "function": y = a x + b (1.5)
  kCompositional,        // "compositional": (x +/- y) * or / z (1.6)
  kCompositionalAddSub,  // "compositional_add_sub": its x +/- y subtask, line by line
  kCompositionalMulDiv,  // "compositional_mul_div": its v * or / z subtask, line by line
};

// "Calculate the result of the following arithmetic expression and provide only the final answer: "
extern const char kArithmeticPrefix[];

std::string_view TaskName(Task task);
StatusOr<Task> ParseTask(std::string_view name);  // the names above; error lists them

struct TaskOptions {
  Task task = Task::kAddSub;
  int64_t size = 0;           // rows; 0 = the paper's size (5000, 2000, 5000, 2500, 5000, 5000)
  uint64_t seed = 42;
  int64_t max_operand = 100;  // add_sub only: a, b ~ U[1, max_operand]
  // add_sub only: which operators the clean prompts use: "+-" (the paper: half each), "+" or
  // "-" (an easier, related distribution, e.g. to pre-train a base model that is weak on the
  // full task). Corrupted prompts always flip the operator.
  std::string operators = "+-";
  // false: prompts without kArithmeticPrefix (clean and corrupted alike). For char-level tiny
  // models the prefix is ~90% of the tokens; dropping it keeps every other property (unique
  // rows, single-token answers, equal clean/corrupted token lengths).
  bool prefix = true;
};

int64_t DefaultSize(Task task);
// The paper's circuit-split fraction: 0.1 for add_sub within 100, 0.2 otherwise (1.7).
double DefaultCircuitFraction(const TaskOptions& options);

StatusOr<std::vector<TaskRow>> GenerateTask(const TaskOptions& options, const text::Tokenizer& tokenizer);

enum class Subtask { kAddSub, kMulDiv };
// Derives a compositional subtask line by line from compositional rows (clean
// "PREFIX(x op1 y) op2 z =", corrupted with z'): add/sub -> PREFIX "x op1 y =", corrupted with op1
// flipped, label v; mul/div -> PREFIX "v op2 z =", corrupted "v op2 z' =", label the final
// result ([ASSUMPTION] of algorithms.md 1.6: the subtask circuit files are not released).
// Error names the row when a prompt does not parse or the subtask label is not one token.
StatusOr<std::vector<TaskRow>> DeriveCompositionalSubtask(const std::vector<TaskRow>& rows, Subtask subtask,
                                                          const text::Tokenizer& tokenizer);

}  // namespace fc::data
