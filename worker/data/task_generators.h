// Internal: one generator per task (tasks.cc dispatches). Each takes the resolved size.
#pragma once

#include <vector>

#include "common/status.h"
#include "worker/data/tasks.h"

namespace fc::data::internal {

// operators: "+-", "+" or "-" (validated by GenerateTask).
StatusOr<std::vector<TaskRow>> GenerateAddSub(int64_t size, uint64_t seed, int64_t max_operand,
                                              const std::string& operators, const text::Tokenizer& tok);
StatusOr<std::vector<TaskRow>> GenerateMulDiv(int64_t size, uint64_t seed, const text::Tokenizer& tok);
StatusOr<std::vector<TaskRow>> GenerateCompositional(int64_t size, uint64_t seed, const text::Tokenizer& tok);
StatusOr<std::vector<TaskRow>> GenerateSequence(int64_t size, uint64_t seed, const text::Tokenizer& tok);
StatusOr<std::vector<TaskRow>> GenerateLcm(int64_t size, uint64_t seed, const text::Tokenizer& tok);
StatusOr<std::vector<TaskRow>> GenerateFunction(int64_t size, uint64_t seed, const text::Tokenizer& tok);

// INVALID_ARGUMENT "<task>: only <got> of <size> unique rows after <attempts> attempts ...".
Status TooFewRows(std::string_view task, size_t got, int64_t size, int64_t attempts);

}  // namespace fc::data::internal
