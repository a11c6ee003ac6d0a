// Plain records shared by the coordinator's scheduler, store and RPC layers (no protobuf, no
// SQLite): job and experiment states with the proto's numbers, fences, and the row structs the
// store persists and the scheduler keeps in memory.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fc::coord {

// Same numbers as fc.v1.JobState, so the RPC layer converts by a cast.
enum class JobState : int {
  kUnspecified = 0,
  kPending = 1,
  kReady = 2,
  kLeased = 3,
  kRunning = 4,
  kSucceeded = 5,
  kFailed = 6,
  kCancelled = 7,
};
inline constexpr int kNumJobStates = 8;
const char* JobStateName(JobState s);  // "PENDING", ...
bool IsTerminal(JobState s);
bool ParseJobState(const std::string& name, JobState* out);  // case-insensitive

// Same numbers as fc.v1.ExperimentState.
enum class ExperimentState : int {
  kUnspecified = 0,
  kRunning = 1,
  kSucceeded = 2,
  kFailed = 3,
  kCancelled = 4,
};
const char* ExperimentStateName(ExperimentState s);  // "EXP_RUNNING", ...

// Identifies one attempt of one job under one lease.
struct Fence {
  std::string job_id;
  int32_t attempt = 0;
  int64_t lease_epoch = 0;
};

struct Resources {
  int32_t gpus = 0;
  int64_t gpu_memory_mb = 0;
  std::map<std::string, std::string> labels;
};

struct Artifact {
  std::string name, sha256, kind, uri;
  int64_t size = 0;
};

struct ExperimentRow {
  std::string id, name, idempotency_key, spec_hash, spec_yaml, canonical_json;
  ExperimentState state = ExperimentState::kRunning;
  int64_t created_ms = 0, finished_ms = 0;
};

struct JobRow {
  std::string id, experiment_id, name, kind;
  JobState state = JobState::kPending;
  int32_t attempt = 0;
  int64_t lease_epoch = 0;
  int32_t max_retries = 0;
  int32_t priority = 0;
  int64_t seq = 0;  // FIFO position among equal priorities (submission order)
  std::string params_json = "{}";
  std::vector<std::string> depends_on;  // job names within the experiment
  Resources resources;
  bool cache = true;
  bool cached = false;  // outputs reused from an earlier identical job (never ran)
  std::string worker_id, error;
  bool permanent_failure = false;
  double progress = 0;
  std::string progress_message, result_json;
  std::vector<Artifact> outputs;
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0, not_before_ms = 0;
};

struct WorkerRow {
  std::string id, name, device, engine_version;
  int32_t slots = 1;
  Resources resources;
  std::vector<std::string> kinds;  // empty = any kind
  bool draining = false, cordoned = false;
  int64_t registered_ms = 0;
};

struct AttemptRow {
  std::string job_id;
  int32_t attempt = 0;
  int64_t lease_epoch = 0;
  std::string worker_id;
  int64_t leased_ms = 0, finished_ms = 0;
  std::string outcome;  // "" while held, then succeeded | failed | expired | released | cancelled
  std::string error;
};

struct EventRow {
  int64_t seq = 0;  // assigned by the store at commit
  int64_t unix_ms = 0;
  std::string experiment_id, job_id, type, message;
  JobState job_state = JobState::kUnspecified;
  double progress = 0;
};

}  // namespace fc::coord
