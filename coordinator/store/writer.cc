#include "coordinator/store/writer.h"

#include <pthread.h>

#include <chrono>
#include <vector>

#include "coordinator/store/job_store.h"

namespace fc::coord::store {

Writer::Writer(std::unique_ptr<Connection> conn, Post post, metrics::Registry* metrics)
    : conn_(std::move(conn)), post_(std::move(post)) {
  if (metrics) {
    commit_seconds_ = metrics->GetHistogram("fc_store_commit_seconds",
                                            "Duration of one group commit (BEGIN..COMMIT incl. fsync)",
                                            metrics::ExponentialBuckets(0.0001, 2, 16));
    group_size_ = metrics->GetHistogram("fc_store_group_size", "Write batches per group commit",
                                        metrics::ExponentialBuckets(1, 2, 13));
  }
}

Writer::~Writer() { Stop(); }

void Writer::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "store-writer");
    Run();
  });
}

void Writer::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status Writer::failed() const {
  std::lock_guard<std::mutex> l(mu_);
  return failed_;
}

void Writer::InjectFailureForTest(Status s) {
  std::lock_guard<std::mutex> l(mu_);
  inject_ = std::move(s);
}

void Writer::Submit(WriteBatch batch, Done done) {
  Status reject;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!failed_.ok()) {
      reject = failed_;
    } else if (stopping_) {
      reject = UnavailableError("store is shutting down");
    } else {
      queue_.push_back({std::move(batch), std::move(done)});
    }
  }
  if (!reject.ok()) {
    auto shared = std::make_shared<Item>(Item{std::move(batch), std::move(done)});
    post_([shared, reject] { shared->done(reject, shared->batch); });
    return;
  }
  cv_.notify_one();
}

void Writer::Run() {
  std::vector<Item> group;
  while (true) {
    Status inject;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && group.size() < kMaxBatchesPerCommit) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      inject = std::move(inject_);
      inject_ = Status::OK();
    }
    auto t0 = std::chrono::steady_clock::now();
    Status s;
    {
      std::lock_guard<std::mutex> l(mu_);
      s = failed_;
    }
    if (s.ok()) s = conn_->Exec("BEGIN IMMEDIATE");
    for (Item& it : group) {
      if (!s.ok()) break;
      s = ApplyBatch(*conn_, it.batch);
    }
    if (s.ok() && !inject.ok()) s = inject;
    if (s.ok()) s = conn_->Exec("COMMIT");
    if (!s.ok()) {
      if (conn_->InTransaction()) (void)conn_->Exec("ROLLBACK");
      std::lock_guard<std::mutex> l(mu_);
      if (failed_.ok()) failed_ = s.WithContext("store failed; restart the coordinator");
      s = failed_;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (commit_seconds_) commit_seconds_->Observe(secs);
    if (group_size_) group_size_->Observe(static_cast<double>(group.size()));
    auto shared = std::make_shared<std::vector<Item>>(std::move(group));
    group.clear();
    post_([shared, s] {
      for (Item& it : *shared) it.done(s, it.batch);
    });
  }
}

}  // namespace fc::coord::store
