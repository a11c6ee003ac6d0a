// The coordinator's SQLite store: opens (creating) the database file, applies the embedded
// migrations, loads the snapshot the scheduler recovers from, then starts the writer thread and
// the reader pool. Owns all three; destruction stops the writer after it committed what was
// queued.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/store/job_store.h"
#include "coordinator/store/reader_pool.h"
#include "coordinator/store/writer.h"

namespace fc::coord::store {

class Store {
 public:
  struct Options {
    std::string path;
    int readers = 2;
  };
  static StatusOr<std::unique_ptr<Store>> Open(const Options& options, Writer::Post post,
                                               metrics::Registry* metrics);
  ~Store();

  // The state as found on disk at Open (moved out by the first call).
  Snapshot TakeSnapshot() { return std::move(snapshot_); }
  Writer& writer() { return *writer_; }
  ReaderPool& readers() { return *readers_; }
  const std::string& path() const { return path_; }

 private:
  Store() = default;
  std::string path_;
  Snapshot snapshot_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<ReaderPool> readers_;
};

}  // namespace fc::coord::store
