// AgentConfig: what one fc-worker process advertises and how it talks to the coordinator.
// Filled from fc-worker's flags (worker/main.cc); defaults suit a production worker.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace fc::agent {

struct AgentConfig {
  std::string coordinator = "127.0.0.1:50051";  // HOST:PORT of fc-coordinator's gRPC port
  std::string name;                              // stable: re-registering resumes the identity
  std::string device = "cpu";                    // cpu | cuda:N
  int slots = 1;                                 // jobs run concurrently
  int gpus = 0;
  int64_t gpu_memory_mb = 0;
  std::map<std::string, std::string> labels;
  std::string work_dir = "./fc-work";            // job output dirs under <work_dir>/jobs/, cache in <work_dir>/cache
  // Artifact transfer: through the coordinator's ArtifactService (default), or, when set, a
  // shared directory with the artifact store's layout (e.g. the coordinator's --artifacts on NFS).
  std::string shared_artifacts;
  std::string engine_version = "fc-agent/0.1.0";

  int rpc_timeout_ms = 5000;         // deadline of every unary RPC (AcquireJob adds its wait)
  int acquire_wait_ms = 5000;        // long-poll time asked of AcquireJob
  int drain_grace_ms = 30000;        // SIGTERM: time running jobs get before being handed back
  int reconnect_initial_ms = 200;    // backoff while the coordinator is unreachable
  int reconnect_max_ms = 3000;
  int progress_min_interval_ms = 200;  // progress reports are throttled to this
};

}  // namespace fc::agent
