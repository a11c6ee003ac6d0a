#include "coordinator/tracking/ingester.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/circuit/json_format.h"
#include "coordinator/store/job_store.h"
#include "coordinator/tracking/tracking_store.h"

namespace fc::coord::tracking {

namespace fs = std::filesystem;

StatusOr<std::unique_ptr<CircuitIngester>> CircuitIngester::Start(const std::string& db_path) {
  FC_ASSIGN_OR_RETURN(auto conn, store::Connection::Open(db_path, false));
  std::unique_ptr<CircuitIngester> ing(new CircuitIngester());
  ing->conn_ = std::move(conn);
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
      spdlog::info("circuit={} edge scores not stored: {}", id, s.message());
    }
  }
}

Status CircuitIngester::IngestOne(const std::string& id) {
  FC_ASSIGN_OR_RETURN(auto row, GetCircuit(*conn_, id));
  if (!row) return NotFoundError("no circuits row");
  FC_ASSIGN_OR_RETURN(auto job, store::GetJob(*conn_, row->job_id));
  if (!job || job->outputs.empty()) return NotFoundError("job {} has no outputs", row->job_id);
  std::string path = job->outputs.front().uri;
  std::error_code ec;
  if (fs::is_directory(path, ec)) path += "/circuit.json";
  if (!fs::is_regular_file(path, ec)) {
    return NotFoundError("output '{}' is not a readable file on the coordinator", job->outputs.front().uri);
  }
  FC_ASSIGN_OR_RETURN(circuit::CircuitFile f, circuit::ReadCircuitJson(path));
  if (f.is_collapsed) return FailedPreconditionError("'{}' is a collapsed circuit (no per-q/k/v scores)", path);
  return PutCircuitScores(*conn_, id, f.full);
}

}  // namespace fc::coord::tracking
