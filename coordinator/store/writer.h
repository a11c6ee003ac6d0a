// The store's only writer: one thread owning the read-write connection. Queued batches are
// group-committed: the thread takes every queued batch (up to kMaxBatchesPerCommit), runs
// BEGIN IMMEDIATE, applies them in FIFO order, and COMMITs once (one fsync with
// synchronous=FULL). Completions run in submission order through `post` after the commit, so
// no acknowledged effect rests on an uncommitted cause.
//
// Failure is sticky, as LevelDB's bg_error_: if a group fails (I/O error, or a bug caught by a
// fenced UPDATE), it is rolled back, every batch of it and every later one fails with that
// status, and the coordinator must be restarted from what is on disk.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/store/db.h"
#include "coordinator/store/write_batch.h"

namespace fc::coord::store {

class Writer {
 public:
  using Done = std::function<void(const Status&, const WriteBatch&)>;
  // Runs a closure on the thread that should see completions (the io thread); called once per
  // committed group with a closure that runs the group's completions in order.
  using Post = std::function<void(std::function<void()>)>;
  static constexpr size_t kMaxBatchesPerCommit = 4096;

  Writer(std::unique_ptr<Connection> conn, Post post, metrics::Registry* metrics);
  ~Writer();  // Stop()s

  void Start();
  // Commits everything already queued, then joins the thread. Later Submits fail UNAVAILABLE.
  void Stop();
  void Submit(WriteBatch batch, Done done);
  Status failed() const;

  // For tests: force the next group to fail as an I/O error would.
  void InjectFailureForTest(Status s);

 private:
  struct Item {
    WriteBatch batch;
    Done done;
  };
  void Run();

  std::unique_ptr<Connection> conn_;
  Post post_;
  metrics::Histogram* commit_seconds_ = nullptr;
  metrics::Histogram* group_size_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  Status failed_;
  Status inject_;
  std::thread thread_;
};

}  // namespace fc::coord::store
