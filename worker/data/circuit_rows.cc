#include "worker/data/circuit_rows.h"

namespace fc::data {

StatusOr<std::vector<CircuitRow>> BuildCircuitBatchRows(const text::Tokenizer& tokenizer,
                                                        const std::vector<TaskRow>& rows,
                                                        const CircuitPromptOptions& options) {
  std::optional<int64_t> bos = tokenizer.bos_id();
  if (options.prepend_bos && !bos) {
    return FailedPreconditionError("prepend_bos is set but the tokenizer has no BOS token");
  }
  auto encode = [&](const std::string& prompt) {
    std::vector<int64_t> ids;
    if (options.prepend_bos) ids.push_back(*bos);
    std::vector<int64_t> body = tokenizer.Encode(options.append_newline ? prompt + "\n" : prompt);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  };
  std::vector<CircuitRow> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const TaskRow& r = rows[i];
    if (r.corrupted.empty()) {
      return InvalidArgumentError("row {}: no corrupted prompt (a fine-tune-only row?): '{}'", i, r.clean);
    }
    CircuitRow c;
    c.clean_ids = encode(r.clean);
    c.corrupted_ids = encode(r.corrupted);
    if (c.clean_ids.size() != c.corrupted_ids.size()) {
      return InvalidArgumentError(
          "row {}: clean prompt has {} tokens but corrupted has {}; pairs must align token by token "
          "(clean '{}', corrupted '{}')",
          i, c.clean_ids.size(), c.corrupted_ids.size(), r.clean, r.corrupted);
    }
    std::vector<int64_t> label = tokenizer.Encode(r.label);
    if (label.size() != 1) {
      return InvalidArgumentError("row {}: label '{}' encodes to {} tokens; answers must be single tokens", i,
                                  r.label, label.size());
    }
    c.label_id = label[0];
    c.length = static_cast<int64_t>(c.clean_ids.size());
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace fc::data
