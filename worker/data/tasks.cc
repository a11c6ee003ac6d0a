#include "worker/data/tasks.h"

#include <array>

#include "worker/data/task_checks.h"
#include "worker/data/task_generators.h"

namespace fc::data {

const char kArithmeticPrefix[] =
    "Calculate the result of the following arithmetic expression and provide only the final answer: ";

namespace {

constexpr std::array<std::pair<Task, std::string_view>, 8> kNames = {{
    {Task::kAddSub, "add_sub"},
    {Task::kMulDiv, "mul_div"},
    {Task::kSequence, "sequence"},
    {Task::kLcm, "lcm"},
    {Task::kFunction, "function"},
    {Task::kCompositional, "compositional"},
    {Task::kCompositionalAddSub, "compositional_add_sub"},
    {Task::kCompositionalMulDiv, "compositional_mul_div"},
}};

}  // namespace

std::string_view TaskName(Task task) {
  for (const auto& [t, name] : kNames) {
    if (t == task) return name;
  }
  return "unknown";
}

StatusOr<Task> ParseTask(std::string_view name) {
  std::string all;
  for (const auto& [t, n] : kNames) {
    if (n == name) return t;
    all += all.empty() ? "" : ", ";
    all += n;
  }
  return InvalidArgumentError("unknown task '{}' (known: {})", name, all);
}

int64_t DefaultSize(Task task) {
  switch (task) {
    case Task::kMulDiv:
      return 2000;
    case Task::kLcm:
      return 2500;
    default:
      return 5000;
  }
}

double DefaultCircuitFraction(const TaskOptions& options) {
  return options.task == Task::kAddSub && options.max_operand == 100 ? 0.1 : 0.2;
}

namespace internal {

bool RowChecker::SingleToken(int64_t n) {
  auto it = single_.find(n);
  if (it != single_.end()) return it->second;
  const bool one = tokenizer_.Encode(std::to_string(n)).size() == 1;
  single_.emplace(n, one);
  return one;
}

Status TooFewRows(std::string_view task, size_t got, int64_t size, int64_t attempts) {
  return InvalidArgumentError(
      "task '{}': only {} of {} unique rows with single-token answers and equal-length prompts after {} "
      "attempts; lower 'size' (or raise max_operand / use a tokenizer with more number tokens)",
      task, got, size, attempts);
}

}  // namespace internal

namespace {

// The generators' rows, prompts with kArithmeticPrefix where the task has one.
StatusOr<std::vector<TaskRow>> GenerateWithPrefix(const TaskOptions& options, const text::Tokenizer& tokenizer) {
  const int64_t size = options.size == 0 ? DefaultSize(options.task) : options.size;
  if (size < 0) return InvalidArgumentError("field 'size': must be >= 0, got {}", size);
  switch (options.task) {
    case Task::kAddSub:
      if (options.max_operand < 1) {
        return InvalidArgumentError("field 'max_operand': must be >= 1, got {}", options.max_operand);
      }
      if (options.operators != "+-" && options.operators != "+" && options.operators != "-") {
        return InvalidArgumentError("field 'operators': must be \"+-\", \"+\" or \"-\", got '{}'",
                                    options.operators);
      }
      return internal::GenerateAddSub(size, options.seed, options.max_operand, options.operators, tokenizer);
    case Task::kMulDiv:
      return internal::GenerateMulDiv(size, options.seed, tokenizer);
    case Task::kSequence:
      return internal::GenerateSequence(size, options.seed, tokenizer);
    case Task::kLcm:
      return internal::GenerateLcm(size, options.seed, tokenizer);
    case Task::kFunction:
      return internal::GenerateFunction(size, options.seed, tokenizer);
    case Task::kCompositional:
      return internal::GenerateCompositional(size, options.seed, tokenizer);
    case Task::kCompositionalAddSub:
    case Task::kCompositionalMulDiv: {
      FC_ASSIGN_OR_RETURN(std::vector<TaskRow> rows, internal::GenerateCompositional(size, options.seed, tokenizer));
      return DeriveCompositionalSubtask(
          rows, options.task == Task::kCompositionalAddSub ? Subtask::kAddSub : Subtask::kMulDiv, tokenizer);
    }
  }
  return InvalidArgumentError("unknown task id {}", static_cast<int>(options.task));
}

}  // namespace

StatusOr<std::vector<TaskRow>> GenerateTask(const TaskOptions& options, const text::Tokenizer& tokenizer) {
  FC_ASSIGN_OR_RETURN(std::vector<TaskRow> rows, GenerateWithPrefix(options, tokenizer));
  if (!options.prefix) {
    // Every prompt that starts with the prefix loses it, clean and corrupted alike, so both keep
    // equal token lengths (the prefix tokenizes the same in front of either).
    const std::string_view prefix = kArithmeticPrefix;
    for (TaskRow& row : rows) {
      if (std::string_view(row.clean).substr(0, prefix.size()) == prefix) row.clean.erase(0, prefix.size());
      if (std::string_view(row.corrupted).substr(0, prefix.size()) == prefix) row.corrupted.erase(0, prefix.size());
    }
  }
  return rows;
}

}  // namespace fc::data
