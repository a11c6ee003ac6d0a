// Exponential backoff with jitter for reconnects and report retries: delays grow
// initial, 2*initial, ... up to max_ms, each scaled by a random factor in [0.75, 1.0] so a
// fleet of workers that lost the coordinator together does not reconnect in lock-step.
// Not thread-safe: one Backoff per retry loop.
#pragma once

#include <cstdint>
#include <random>

namespace fc::agent {

class Backoff {
 public:
  Backoff(int64_t initial_ms, int64_t max_ms, uint64_t seed = std::random_device{}())
      : initial_ms_(initial_ms < 1 ? 1 : initial_ms),
        max_ms_(max_ms < initial_ms_ ? initial_ms_ : max_ms), next_ms_(initial_ms_), rng_(seed) {}

  // The delay to wait before the next attempt; grows the following one.
  int64_t NextDelayMs() {
    int64_t base = next_ms_;
    next_ms_ = next_ms_ >= max_ms_ / 2 ? max_ms_ : next_ms_ * 2;
    std::uniform_real_distribution<double> jitter(0.75, 1.0);
    int64_t d = static_cast<int64_t>(static_cast<double>(base) * jitter(rng_));
    return d < 1 ? 1 : d;
  }
  void Reset() { next_ms_ = initial_ms_; }

 private:
  int64_t initial_ms_;
  int64_t max_ms_;
  int64_t next_ms_;
  std::mt19937_64 rng_;
};

}  // namespace fc::agent
