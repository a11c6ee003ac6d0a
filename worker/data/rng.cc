#include "worker/data/rng.h"

#include <numeric>

namespace fc::data {

int64_t Rng::UniformInt(int64_t lo, int64_t hi) {
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;  // 0 = full 2^64
  if (range == 0) return static_cast<int64_t>(engine_());
  // Values below `threshold` would make x % range biased; (2^64 - range) % range of them.
  const uint64_t threshold = (0 - range) % range;
  uint64_t x;
  do {
    x = engine_();
  } while (x < threshold);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % range);
}

std::vector<size_t> Rng::Permutation(size_t n) {
  std::vector<size_t> p(n);
  std::iota(p.begin(), p.end(), size_t{0});
  Shuffle(&p);
  return p;
}

}  // namespace fc::data
