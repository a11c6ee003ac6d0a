// Stores the edge scores of finished discover jobs (circuit_scores) off the io thread: the
// scheduler hands over the ids of committed circuits; one background thread with its own
// read-write connection reads each job's circuit output and writes the scores. The output is
// read through artifacts::ReadOutputFile: a local circuit.json, a folder holding circuit.json
// or circuit/circuit.json, or the same as a `blob:` file or tree in the coordinator's artifact
// store (`blobs`, verified while read). Outputs it cannot read (another host's path, a blob
// uri without an artifact store, a missing or corrupt blob: DATA_LOSS) are skipped with a log
// line naming the reason; the report then has no diffs for them.
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

namespace fc::artifacts {
class BlobStore;
}

namespace fc::coord::tracking {

class CircuitIngester {
 public:
  // `blobs` (may be null: plain paths only) must outlive the ingester.
  static StatusOr<std::unique_ptr<CircuitIngester>> Start(const std::string& db_path,
                                                          const artifacts::BlobStore* blobs = nullptr);
  ~CircuitIngester();  // finishes the queue, joins

  void Enqueue(const std::vector<std::string>& circuit_ids);
  int64_t ingested() const { return ingested_.load(); }
  int64_t skipped() const { return skipped_.load(); }

 private:
  CircuitIngester() = default;
  void Run();
  Status IngestOne(const std::string& id);

  std::unique_ptr<store::Connection> conn_;
  const artifacts::BlobStore* blobs_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::atomic<int64_t> ingested_{0}, skipped_{0};
};

}  // namespace fc::coord::tracking
