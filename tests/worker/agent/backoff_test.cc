#include "worker/agent/backoff.h"

#include <gtest/gtest.h>

namespace fc::agent {
namespace {

TEST(Backoff, DelaysDoubleWithJitterUpToTheCap) {
  Backoff b(100, 1000, /*seed=*/7);
  const int64_t bases[] = {100, 200, 400, 800, 1000, 1000};
  for (int64_t base : bases) {
    int64_t d = b.NextDelayMs();
    EXPECT_GE(d, base * 3 / 4) << "base " << base;
    EXPECT_LE(d, base) << "base " << base;
  }
}

TEST(Backoff, ResetStartsOverFromTheInitialDelay) {
  Backoff b(50, 10000, 1);
  for (int i = 0; i < 6; ++i) b.NextDelayMs();
  b.Reset();
  EXPECT_LE(b.NextDelayMs(), 50);
}

TEST(Backoff, NonsensicalBoundsAreClamped) {
  Backoff b(0, -5, 3);
  EXPECT_EQ(b.NextDelayMs(), 1);
  EXPECT_EQ(b.NextDelayMs(), 1);
}

}  // namespace
}  // namespace fc::agent
