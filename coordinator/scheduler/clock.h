// Time source of the scheduler. Deadlines (leases, backoff, long polls) use the monotonic
// MonoMs; rows and events carry WallMs (unix ms). FakeClock lets tests move time by hand, so
// no unit test sleeps.
#pragma once

#include <chrono>
#include <cstdint>

namespace fc::coord {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t MonoMs() const = 0;
  virtual int64_t WallMs() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t MonoMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t WallMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t wall_start_ms = 1'700'000'000'000) : wall_start_(wall_start_ms) {}
  int64_t MonoMs() const override { return now_; }
  int64_t WallMs() const override { return wall_start_ + now_; }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  int64_t wall_start_;
  int64_t now_ = 1000;
};

}  // namespace fc::coord
