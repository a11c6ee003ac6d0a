// DataOrder: which training rows each micro-batch uses. Every epoch is a fresh permutation of
// [0, n) drawn from (seed, epoch) alone with a fixed, portable algorithm (SplitMix64 seeding an
// mt19937_64 + Fisher-Yates with modulo draws; std::shuffle differs between standard libraries),
// so the order is the same on every machine and a resumed run needs only the cursor
// (epoch, offset). Batches never straddle epochs: the last batch of an epoch may be smaller,
// as with a PyTorch DataLoader without drop_last.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace fc::finetune {

struct DataCursor {
  int64_t epoch = 0;
  int64_t offset = 0;  // rows of this epoch already handed out
};

class DataOrder {
 public:
  static StatusOr<DataOrder> Create(int64_t n_rows, uint64_t seed);

  // Next batch of at most `batch_size` row indices; advances the cursor.
  std::vector<int64_t> NextBatch(int64_t batch_size);
  const DataCursor& cursor() const { return cursor_; }
  Status SetCursor(const DataCursor& cursor);
  // The permutation of an epoch (exposed for tests).
  std::vector<int64_t> Permutation(int64_t epoch) const;
  int64_t n_rows() const { return n_; }

 private:
  DataOrder(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  int64_t n_;
  uint64_t seed_;
  DataCursor cursor_;
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;
};

}  // namespace fc::finetune
