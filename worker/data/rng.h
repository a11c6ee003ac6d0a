// Rng: the one random source of the datasets, reproducible across compilers and platforms.
//
// std::mt19937_64 is fully specified by the standard, but std::uniform_int_distribution and
// std::shuffle are not (libstdc++ and libc++ differ), so integers come from UniformInt below
// (rejection sampling on the raw 64-bit output, unbiased) and shuffles from our Fisher-Yates.
// Same seed and same calls -> the same numbers everywhere.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace fc::data {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform integer in [lo, hi] (inclusive); requires lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Fisher-Yates: for i = n-1..1 swap v[i] with v[UniformInt(0, i)].
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) {
      const auto j = static_cast<size_t>(UniformInt(0, static_cast<int64_t>(i) - 1));
      std::swap((*v)[i - 1], (*v)[j]);
    }
  }
  // A permutation of 0..n-1.
  std::vector<size_t> Permutation(size_t n);

 private:
  std::mt19937_64 engine_;
};

}  // namespace fc::data
