#include "coordinator/tracking/ingester.h"

#include <spdlog/spdlog.h>

#include "common/circuit/json_format.h"
#include "coordinator/tracking/report.h"
#include "coordinator/tracking/tracking_store.h"

namespace fc::coord::tracking {

StatusOr<std::unique_ptr<CircuitIngester>> CircuitIngester::Start(const std::string& db_path,
                                                                  const artifacts::BlobStore* blobs) {
  FC_ASSIGN_OR_RETURN(auto conn, store::Connection::Open(db_path, false));
  std::unique_ptr<CircuitIngester> ing(new CircuitIngester());
  ing->conn_ = std::move(conn);
  ing->blobs_ = blobs;
  ing->thread_ = std::thread([p = ing.get()] { p->Run(); });
  return ing;
}

CircuitIngester::~CircuitIngester() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CircuitIngester::Enqueue(const std::vector<std::string>& ids) {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const std::string& id : ids) queue_.push_back(id);
  }
  cv_.notify_one();
}

void CircuitIngester::Run() {
  while (true) {
    std::string id;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left
      id = std::move(queue_.front());
      queue_.pop_front();
    }
    Status s = IngestOne(id);
    if (s.ok()) {
      ingested_++;
    } else {
      skipped_++;
      // A corrupt blob is worth an operator's attention; an unreadable path is expected.
      if (s.code() == StatusCode::kDataLoss) {
        spdlog::warn("circuit={} edge scores not stored: {}", id, s.ToString());
      } else {
        spdlog::info("circuit={} edge scores not stored: {}", id, s.ToString());
      }
    }
  }
}

Status CircuitIngester::IngestOne(const std::string& id) {
  FC_ASSIGN_OR_RETURN(circuit::CircuitFile f, ReadCircuitOutput(*conn_, id, blobs_));
  if (f.is_collapsed) return FailedPreconditionError("the output is a collapsed circuit (no per-q/k/v scores)");
  return PutCircuitScores(*conn_, id, f.full);
}

}  // namespace fc::coord::tracking
