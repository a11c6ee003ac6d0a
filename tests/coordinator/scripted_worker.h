// A scripted worker for tests that drive an in-process coordinator over gRPC: it registers,
// leases jobs by long-polling AcquireJob, and reports progress, checkpoints and completion
// exactly as the agent would, so a test decides step by step what each job "does".
//
// Contract: every call carries a 10 s deadline (Ctx()); a failed RPC is a GoogleTest failure
// in the calling test (EXPECT for Register/Acquire/Take, ASSERT inside Complete, returned as
// grpc::Status for Progress/Checkpoint so the caller chooses). Jobs leased while waiting for
// another are kept and handed out by later Take calls, as a real worker holding free slots
// would have received them. Not thread-safe: one test thread drives it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "fc/v1/workers.grpc.pb.h"

namespace fc::coord::testing {

// A client context whose deadline is `limit` from now, so a wedged server fails the test
// instead of hanging it.
std::unique_ptr<grpc::ClientContext> Ctx(std::chrono::milliseconds limit = std::chrono::seconds(10));

// (output name, uri) pairs of a ReportComplete.
using Outputs = std::vector<std::pair<std::string, std::string>>;

class ScriptedWorker {
 public:
  explicit ScriptedWorker(const std::shared_ptr<grpc::Channel>& channel);

  // Registers as `name` (8 slots, engine "test"); returns whether the coordinator accepted it.
  bool Register(const std::string& name);
  const std::string& id() const { return id_; }

  // One AcquireJob long poll (`wait_ms`) with 8 free slots; returns the jobs leased.
  std::vector<fc::v1::LeasedJob> Acquire(int wait_ms = 200);
  // Polls until the job whose name or id is `key` is leased (within `max_ms`); other jobs
  // leased meanwhile are kept for later calls. Returns an empty lease (and fails) if never.
  fc::v1::LeasedJob Take(const std::string& key, int max_ms = 8000);
  // Whether a job named or identified `key` was leased but not yet taken.
  bool Holds(const std::string& key) const;

  // ReportComplete with `outputs` (each of `kind`; "" leaves it unset) and `result_json`.
  void Complete(const fc::v1::LeasedJob& lease, const Outputs& outputs, const std::string& result_json = "{}",
                const std::string& kind = "file");
  grpc::Status Progress(const fc::v1::LeasedJob& lease, double progress, const std::string& metrics_json,
                        const std::string& message = "");
  // Announces checkpoint-<step> at `path` (parent `parent`) the way the fine-tune engine does:
  // a progress report whose metrics hold {"checkpoint": {step, path, parent, name, loss,
  // accuracy, method}} with loss 1/step and accuracy step/40.
  grpc::Status Checkpoint(const fc::v1::LeasedJob& lease, int step, const std::string& parent,
                          const std::string& path, double progress, const std::string& message = "");

  fc::v1::WorkerService::Stub& stub() { return *stub_; }

 private:
  static bool Matches(const fc::v1::LeasedJob& l, const std::string& key);

  std::unique_ptr<fc::v1::WorkerService::Stub> stub_;
  std::string name_;
  std::string id_;
  std::vector<fc::v1::LeasedJob> held_;
};

}  // namespace fc::coord::testing
