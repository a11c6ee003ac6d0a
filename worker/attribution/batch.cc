#include "worker/attribution/batch.h"

#include <algorithm>

namespace fc::attribution {

namespace {

Status CheckRow(const TokenizedRow& row, size_t i) {
  if (row.clean.empty()) return InvalidArgumentError("row {}: clean has no tokens", i);
  if (row.clean.size() != row.corrupted.size()) {
    return InvalidArgumentError(
        "row {}: clean has {} tokens but corrupted has {}; clean/corrupted pairs must have "
        "equal token length",
        i, row.clean.size(), row.corrupted.size());
  }
  for (size_t p = 0; p < row.clean.size(); ++p) {
    if (row.clean[p] < 0 || row.corrupted[p] < 0) {
      return InvalidArgumentError("row {} position {}: negative token id", i, p);
    }
  }
  return Status::OK();
}

}  // namespace

StatusOr<std::vector<Batch>> MakeBatches(const std::vector<TokenizedRow>& rows,
                                         int64_t batch_size, int64_t pad_id) {
  if (batch_size < 1) return InvalidArgumentError("batch_size: must be >= 1, got {}", batch_size);
  if (pad_id < 0) return InvalidArgumentError("pad_id: must be >= 0, got {}", pad_id);
  if (rows.empty()) return InvalidArgumentError("rows: no rows to batch");
  for (size_t i = 0; i < rows.size(); ++i) FC_RETURN_IF_ERROR(CheckRow(rows[i], i));

  std::vector<Batch> batches;
  for (size_t begin = 0; begin < rows.size(); begin += batch_size) {
    const size_t end = std::min(rows.size(), begin + static_cast<size_t>(batch_size));
    const int64_t b = static_cast<int64_t>(end - begin);
    size_t p = 0;
    for (size_t i = begin; i < end; ++i) p = std::max(p, rows[i].clean.size());
    Batch batch;
    batch.first_row = static_cast<int64_t>(begin);
    batch.clean_ids = torch::full({b, static_cast<int64_t>(p)}, pad_id, torch::kLong);
    batch.corrupted_ids = batch.clean_ids.clone();
    batch.lengths = torch::empty({b}, torch::kLong);
    batch.labels = torch::empty({b}, torch::kLong);
    batch.incorrect = torch::empty({b}, torch::kLong);
    auto clean = batch.clean_ids.accessor<int64_t, 2>();
    auto corr = batch.corrupted_ids.accessor<int64_t, 2>();
    for (size_t i = begin; i < end; ++i) {
      const int64_t r = static_cast<int64_t>(i - begin);
      const TokenizedRow& row = rows[i];
      for (size_t t = 0; t < row.clean.size(); ++t) {
        clean[r][t] = row.clean[t];
        corr[r][t] = row.corrupted[t];
      }
      batch.lengths[r] = static_cast<int64_t>(row.clean.size());
      batch.labels[r] = row.label;
      batch.incorrect[r] = row.incorrect;
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

int64_t CountRows(const std::vector<Batch>& batches) {
  int64_t n = 0;
  for (const Batch& b : batches) n += b.size();
  return n;
}

}  // namespace fc::attribution
