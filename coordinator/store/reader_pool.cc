#include "coordinator/store/reader_pool.h"

#include <pthread.h>

namespace fc::coord::store {

StatusOr<std::unique_ptr<ReaderPool>> ReaderPool::Open(const std::string& path, int threads) {
  std::unique_ptr<ReaderPool> pool(new ReaderPool());
  for (int i = 0; i < threads; ++i) {
    FC_ASSIGN_OR_RETURN(auto conn, Connection::Open(path, /*read_only=*/true));
    pool->conns_.push_back(std::move(conn));
  }
  for (auto& c : pool->conns_) {
    Connection* conn = c.get();
    ReaderPool* self = pool.get();
    pool->threads_.emplace_back([self, conn] {
      pthread_setname_np(pthread_self(), "store-reader");
      self->Run(conn);
    });
  }
  return pool;
}

ReaderPool::~ReaderPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ReaderPool::Post(Task task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ReaderPool::Run(Connection* conn) {
  while (true) {
    Task t;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      t = std::move(queue_.front());
      queue_.pop_front();
    }
    t(*conn);
  }
}

}  // namespace fc::coord::store
