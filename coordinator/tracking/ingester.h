// Stores the edge scores of finished discover jobs (circuit_scores) off the io thread: the
// scheduler hands over the ids of committed circuits; one background thread with its own
// read-write connection reads each job's circuit output (a local circuit.json path or a folder
// holding one) and writes the scores. Outputs the coordinator cannot read (another host's path,
// blob uris) are skipped with a log line; the report then has no diffs for them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "coordinator/store/db.h"

namespace fc::coord::tracking {

class CircuitIngester {
 public:
  static StatusOr<std::unique_ptr<CircuitIngester>> Start(const std::string& db_path);
  ~CircuitIngester();  // finishes the queue, joins

  void Enqueue(const std::vector<std::string>& circuit_ids);
  int64_t ingested() const { return ingested_.load(); }
  int64_t skipped() const { return skipped_.load(); }

 private:
  CircuitIngester() = default;
  void Run();
  Status IngestOne(const std::string& id);

  std::unique_ptr<store::Connection> conn_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::atomic<int64_t> ingested_{0}, skipped_{0};
};

}  // namespace fc::coord::tracking
