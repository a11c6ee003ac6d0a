#include "worker/finetune/data_order.h"

#include <algorithm>
#include <random>

namespace fc::finetune {

namespace {
uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

StatusOr<DataOrder> DataOrder::Create(int64_t n_rows, uint64_t seed) {
  if (n_rows < 1) return InvalidArgumentError("training data: needs at least 1 row, got {}", n_rows);
  return DataOrder(n_rows, seed);
}

std::vector<int64_t> DataOrder::Permutation(int64_t epoch) const {
  std::vector<int64_t> p(n_);
  for (int64_t i = 0; i < n_; ++i) p[i] = i;
  std::mt19937_64 gen(SplitMix64(seed_ ^ SplitMix64(static_cast<uint64_t>(epoch))));
  for (int64_t i = n_ - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(gen() % static_cast<uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return p;
}

std::vector<int64_t> DataOrder::NextBatch(int64_t batch_size) {
  if (cursor_.offset >= n_) {
    ++cursor_.epoch;
    cursor_.offset = 0;
  }
  if (perm_epoch_ != cursor_.epoch) {
    perm_ = Permutation(cursor_.epoch);
    perm_epoch_ = cursor_.epoch;
  }
  const int64_t end = std::min(n_, cursor_.offset + std::max<int64_t>(1, batch_size));
  std::vector<int64_t> batch(perm_.begin() + cursor_.offset, perm_.begin() + end);
  cursor_.offset = end;
  return batch;
}

Status DataOrder::SetCursor(const DataCursor& c) {
  if (c.epoch < 0 || c.offset < 0 || c.offset > n_) {
    return InvalidArgumentError("data cursor (epoch {}, offset {}) invalid for {} rows", c.epoch, c.offset, n_);
  }
  cursor_ = c;
  return Status::OK();
}

}  // namespace fc::finetune
