// A few threads, each with its own read-only connection, for queries that must not run on the
// io thread or a gRPC callback thread (List/Get, Watch catch-up). Tasks run in FIFO order on
// whichever reader is free; a task gets the thread's connection.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "coordinator/store/db.h"

namespace fc::coord::store {

class ReaderPool {
 public:
  using Task = std::function<void(Connection&)>;
  static StatusOr<std::unique_ptr<ReaderPool>> Open(const std::string& path, int threads);
  ~ReaderPool();  // finishes queued tasks, joins
  void Post(Task task);

 private:
  ReaderPool() = default;
  void Run(Connection* conn);
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
};

}  // namespace fc::coord::store
