// Cluster: the real processes of one integration test on 127.0.0.1 — fc-coordinator (SQLite
// and artifacts in a fresh temp dir, port 0, address read from its ready file), any number of
// fc-worker processes, fcctl runs — plus gRPC stubs for assertions. Binaries are found under
// $FC_BUILD_DIR (set by fc_test). Timings are short (lease TTL 1500 ms, heartbeat 300 ms) so
// fault tests finish in seconds.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "fc/v1/admin.grpc.pb.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "fc/v1/workers.grpc.pb.h"
#include "tests/integration/subprocess.h"

namespace fc::itest {

using namespace std::chrono_literals;

inline constexpr int kLeaseTtlMs = 1500;
inline constexpr int kHeartbeatMs = 300;

// Path of a built executable (searched under $FC_BUILD_DIR), "" when absent.
std::string FindBinary(const std::string& name);

class Cluster {
 public:
  explicit Cluster(const std::string& test_name);
  ~Cluster();

  const std::string& dir() const { return dir_; }
  // Starts fc-coordinator on `port` (0 = any) and waits for its ready file (20 s). The database
  // and artifact dir stay the same across restarts. Returns "" or an error description.
  std::string StartCoordinator(int port = 0);
  void KillCoordinator();  // SIGKILL
  Subprocess& coordinator() { return *coordinator_; }
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  // Starts `fc-worker --name name --slots slots` against the coordinator.
  Subprocess& StartWorker(const std::string& name, int slots = 1,
                          const std::vector<std::string>& extra_args = {});
  Subprocess& worker(const std::string& name) { return *workers_.at(name); }

  CommandResult Fcctl(std::vector<std::string> args, std::chrono::milliseconds timeout = 30s,
                      const std::string& stdin_text = "");

  v1::ExperimentService::Stub& experiments() { return *experiments_; }
  v1::AdminService::Stub& admin() { return *admin_; }
  v1::WorkerService::Stub& worker_service() { return *worker_service_; }

  // Submits through the API; returns the experiment id ("" on error, with *error set).
  std::string Submit(const std::string& yaml, std::string* error = nullptr);
  grpc::Status GetExperiment(const std::string& id, v1::GetExperimentReply* reply);
  // Polls until the experiment is terminal; returns its final reply (state UNSPECIFIED on timeout).
  v1::GetExperimentReply WaitExperimentDone(const std::string& id, std::chrono::milliseconds timeout);
  std::vector<v1::Worker> Workers();
  // Polls pred every 50 ms until true or timeout.
  static bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

  // Logs of every process started, for failure messages.
  std::string AllLogs() const;

 private:
  void Connect();

  std::string dir_;
  std::string coordinator_bin_, worker_bin_, fcctl_bin_;
  std::unique_ptr<Subprocess> coordinator_;
  std::vector<std::unique_ptr<Subprocess>> dead_coordinators_;
  std::map<std::string, std::unique_ptr<Subprocess>> workers_;
  std::string address_;
  int port_ = 0;
  int coordinator_starts_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ExperimentService::Stub> experiments_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::WorkerService::Stub> worker_service_;
};

// A ClientContext with a deadline `ms` from now.
std::unique_ptr<grpc::ClientContext> Ctx(int ms = 5000);

}  // namespace fc::itest
