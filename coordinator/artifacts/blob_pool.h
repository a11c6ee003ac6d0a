// BlobPool: a small fixed set of named threads ("blob") that run the artifact service's file
// I/O, so gRPC callback threads never block on disk. FIFO; Post is thread-safe. The destructor
// runs what is queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fc::artifacts {

class BlobPool {
 public:
  explicit BlobPool(int threads);
  ~BlobPool();
  BlobPool(const BlobPool&) = delete;
  BlobPool& operator=(const BlobPool&) = delete;

  void Post(std::function<void()> fn);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fc::artifacts
