// The scheduler: all job, experiment, worker and lease state of the coordinator, in memory, on
// ONE thread (the io thread; no locks). Every mutation builds a store::WriteBatch (the job
// rows, attempts and events of the transition), hands it to `commit`, and answers its caller
// only from the commit's completion, so nothing is acknowledged before it is durable.
//
// Semantics (architecture.md section 7):
// * Ready queue ordered by priority (higher first), then submission order (FIFO).
// * Matching: a job goes only to a worker that lists its kind (or lists none), has enough free
//   GPUs (gpus), enough memory per GPU (gpu_memory when gpus > 0) and every job label.
// * Leases have a TTL renewed by heartbeats and reports (memory only). An expired lease puts the
//   job back to READY at once with attempt+1 (FAILED once attempts are used up). On recovery
//   every LEASED/RUNNING job gets a fresh TTL, so workers that re-register or heartbeat carry on.
// * Failures: permanent ones are final; others retry after min(backoff * 2^(attempt-1),
//   backoff_max) while attempt <= max_retries. ReleaseJob hands a job back without penalty.
// * Reports carry fences; stale ones get FAILED_PRECONDITION and change nothing.
// * Cancellation is committed at once; the holding worker learns it from its next heartbeat
//   (cancel_job_ids) or progress report. Downstream PENDING jobs of a FAILED/CANCELLED job are
//   CANCELLED. Experiment state is derived: RUNNING while a job is not terminal, then FAILED if
//   any job failed, else CANCELLED if any was cancelled, else SUCCEEDED.
// * Drain: the worker gets no new jobs and heartbeats answer drain=true. Cordon: no new jobs.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/dag/spec.h"
#include "common/status.h"
#include "coordinator/core/types.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/scheduler/clock.h"
#include "coordinator/scheduler/job_fsm.h"
#include "coordinator/scheduler/stored_outputs.h"
#include "coordinator/store/job_store.h"
#include "coordinator/store/write_batch.h"

namespace fc::coord {

struct SchedulerConfig {
  int64_t lease_ttl_ms = 15000;
  int64_t heartbeat_ms = 2000;
  int64_t retry_backoff_ms = 1000;
  int64_t retry_backoff_max_ms = 60000;
  int64_t max_wait_ms = 10000;  // long-poll cap of AcquireJob
};

struct SubmitRequest {
  dag::ExperimentSpec spec;
  std::string spec_text;
  std::string idempotency_key;  // empty = the spec hash
};
struct ExperimentView {
  ExperimentRow row;
  std::map<std::string, int32_t> jobs_by_state;
};
struct SubmitResult {
  ExperimentView experiment;
  bool existed = false;
};

struct DependencyOutputs {
  std::vector<Artifact> outputs;
  std::string result_json;
};
struct Lease {
  JobRow job;
  Fence fence;
  int32_t lease_ttl_ms = 0;
  std::map<std::string, DependencyOutputs> inputs;  // dependency name -> its outputs
};

struct RegisterRequest {
  std::string name, device, engine_version;
  int32_t slots = 1;
  Resources resources;
  std::vector<std::string> kinds;
  std::vector<Fence> running;
};
struct RegisterResult {
  std::string worker_id;
  std::vector<Fence> rejected;
};

struct HeartbeatResult {
  std::vector<std::string> cancel_job_ids;
  std::vector<Fence> stale;
  bool drain = false;
};

struct WorkerView {
  WorkerRow row;
  bool alive = false;
  int64_t last_heartbeat_unix_ms = 0;
  std::vector<std::string> job_ids;
};

template <typename T>
using Reply = std::function<void(StatusOr<T>)>;
using StatusReply = std::function<void(Status)>;

class Scheduler {
 public:
  using CommitDone = std::function<void(const Status&, const store::WriteBatch&)>;
  using Commit = std::function<void(store::WriteBatch, CommitDone)>;
  // Live fan-out of committed events (for Watch).
  using EventSink = std::function<void(const std::vector<EventRow>&)>;

  Scheduler(SchedulerConfig config, Clock* clock, Commit commit, metrics::Registry* metrics);

  // Rebuilds memory from the store's snapshot; call once before anything else.
  void Recover(store::Snapshot snapshot);
  void SetEventSink(EventSink sink) { event_sink_ = std::move(sink); }
  // Ids of circuits whose summary rows were just committed (edge-score ingestion).
  using CircuitSink = std::function<void(const std::vector<std::string>&)>;
  void SetCircuitSink(CircuitSink sink) { circuit_sink_ = std::move(sink); }
  // The coordinator's artifact store (--artifacts), or null. With one, a cache hit is taken
  // only while every `blob:` output of the cached job is still stored (StoredOutputs; a
  // quarantined blob makes it a miss and the job runs again). It must outlive the scheduler.
  void SetArtifactStore(const artifacts::BlobStore* blobs) { stored_outputs_ = StoredOutputs(blobs); }

  // --- clients
  void Submit(SubmitRequest req, Reply<SubmitResult> reply);
  void CancelExperiment(const std::string& id, const std::string& reason, Reply<ExperimentView> reply);
  void CancelJob(const std::string& id, const std::string& reason, Reply<JobRow> reply);
  // A FAILED or CANCELLED job gets one more attempt (its automatic retry budget is not
  // refilled); downstream jobs cancelled because of it become PENDING again.
  void RetryJob(const std::string& id, Reply<JobRow> reply);

  // --- workers
  void RegisterWorker(RegisterRequest req, Reply<RegisterResult> reply);
  // Leases up to free_slots matching jobs; with none ready, waits up to wait_ms (capped) for one.
  void AcquireJobs(const std::string& worker_id, int32_t free_slots, int32_t wait_ms,
                   Reply<std::vector<Lease>> reply);
  StatusOr<HeartbeatResult> Heartbeat(const std::string& worker_id, const std::vector<Fence>& running);
  void ReportStarted(const Fence& fence, StatusReply reply);
  // Replies whether the job was cancelled (the worker should stop).
  // metrics_json (optional) may carry a finetune checkpoint {"checkpoint": {...}} (recorded in
  // the same transaction as the child discover jobs it fans out to) and step metrics.
  void ReportProgress(const Fence& fence, double progress, const std::string& message,
                      const std::string& metrics_json, Reply<bool> reply);
  void ReportProgress(const Fence& fence, double progress, const std::string& message,
                      Reply<bool> reply) {
    ReportProgress(fence, progress, message, "", std::move(reply));
  }
  void ReportComplete(const Fence& fence, std::vector<Artifact> outputs, std::string result_json,
                      StatusReply reply);
  void ReportFailed(const Fence& fence, const std::string& error, bool permanent, bool cancelled,
                    StatusReply reply);
  void ReleaseJob(const Fence& fence, const std::string& reason, StatusReply reply);

  // --- operators
  void SetDrain(const std::string& worker, bool undo, Reply<WorkerView> reply);
  void SetCordon(const std::string& worker, bool undo, Reply<WorkerView> reply);
  std::vector<WorkerView> ListWorkers(bool include_dead) const;

  // --- timers: expire leases, end backoffs and long polls whose time has come.
  void OnTimer();
  // Monotonic ms of the earliest pending deadline (INT64_MAX = none).
  int64_t NextDeadlineMs() const;
  // Answers every parked long poll with no jobs (shutdown).
  void FlushWaiters();

  // --- introspection (io thread)
  const JobRow* FindJob(const std::string& id) const;
  std::map<std::string, int64_t> JobCountsByState() const;
  size_t ReadyQueueDepth() const { return ready_.size(); }
  int64_t lease_expiries() const { return lease_expiries_; }
  // READY -> lease committed latencies, in microseconds, in grant order (bounded).
  const std::vector<double>& dispatch_latencies_us() const { return dispatch_us_; }
  void ClearDispatchLatencies() { dispatch_us_.clear(); }
  bool failed() const { return !failed_.ok(); }

 private:
  struct Experiment;
  struct Job {
    JobRow row;
    std::vector<Job*> deps;
    std::vector<Job*> dependents;
    Experiment* exp = nullptr;
    int unfinished_deps = 0;
    int64_t ready_at_us = 0;     // monotonic, for the dispatch latency
    int64_t due_mono_ms = 0;     // backoff end (READY only)
    int64_t lease_deadline = 0;  // monotonic (LEASED/RUNNING only)
    bool cancel_notify = false;  // cancelled while held: tell the worker
    // Stage-wise tracking (scheduler_tracking.cc): a reextract job runs in the coordinator and
    // owns one child discover job per checkpoint.
    Job* fanout_parent = nullptr;
    std::vector<Job*> children;
  };
  struct Experiment {
    ExperimentRow row;
    std::vector<Job*> jobs;
    int counts[kNumJobStates] = {0};
  };
  struct Worker {
    WorkerRow row;
    int64_t last_seen_mono = 0;
    std::set<std::string> held;  // job ids leased to it
    int32_t used_gpus = 0;
  };
  struct Waiter {
    std::string worker_id;
    int32_t free_slots;
    int64_t deadline;
    Reply<std::vector<Lease>> reply;
  };
  using ReadyKey = std::tuple<int32_t, int64_t, Job*>;  // (-priority, seq, job)

  // Applies `ev` to `j`, recording the job row, event and counts into `b`.
  void Transition(Job& j, JobEvent ev, store::WriteBatch& b, const std::string& message);
  void EmitJobUpdate(Job& j, int32_t expect_attempt, int64_t expect_epoch, store::WriteBatch& b,
                     bool outputs = false);
  void AddEvent(store::WriteBatch& b, const std::string& exp, const std::string& job,
                const std::string& type, JobState st, const std::string& msg, double progress = 0);
  void UpdateExperimentState(Experiment& e, store::WriteBatch& b);
  void OnSucceeded(Job& j, store::WriteBatch& b);
  void CancelDownstream(Job& j, store::WriteBatch& b);
  void MakeReady(Job& j, int64_t delay_ms);
  void RemoveFromQueues(Job& j);
  void ReleaseHold(Job& j);
  bool Matches(const Worker& w, const Job& j) const;
  std::vector<Lease> LeaseTo(Worker& w, int32_t n, store::WriteBatch& b);
  void ServeWaiters();
  void CommitAndReply(store::WriteBatch b, std::function<void(const Status&)> then);
  StatusOr<Job*> FencedJob(const Fence& fence);
  void FailHeld(Job& j, const std::string& error, bool permanent, JobEvent retry_event,
                store::WriteBatch& b, bool backoff);
  // --- stage-wise tracking (scheduler_tracking.cc, docs/tracking.md)
  static bool IsReextract(const Job& j);
  Job* SiblingByRef(const Job& j, const std::string& param) const;  // the job a ref param names
  void OnReextractDepSucceeded(Job& r, store::WriteBatch& b);
  void StartReextract(Job& r, store::WriteBatch& b);
  void CreateChild(Job& r, int64_t step, const std::string& checkpoint_path, store::WriteBatch& b);
  void CreateChildrenFromOutputs(Job& r, const Job& finetune, store::WriteBatch& b);
  void MaybeFinishReextract(Job& r, store::WriteBatch& b);
  void FailReextract(Job& r, const std::string& why, store::WriteBatch& b);
  void OnCheckpoint(Job& finetune, tracking::CheckpointRow c, store::WriteBatch& b);
  void OnJobDone(Job& j, store::WriteBatch& b);  // succeeded/failed/cancelled: parents, circuits
  void RecoverTracking(const std::vector<tracking::CheckpointRow>& checkpoints,
                       const std::vector<tracking::CacheEntryRow>& cache_entries);
  // Caching: kind + canonical params + dependency outputs; engine version checked on a hit.
  std::string CacheKey(const Job& j) const;
  bool TryCacheHit(Job& j, store::WriteBatch& b);  // READY job -> SUCCEEDED with reused outputs
  void RecordCache(const Job& j, store::WriteBatch& b);
  void PrepareLease(const Job& j, Lease* l) const;  // resume_from + resume_checkpoints, checkpoint inputs
  ExperimentView ViewOf(const Experiment& e) const;
  WorkerView ViewOf(const Worker& w) const;
  Worker* FindWorker(const std::string& id_or_name);
  void PublishGauges();
  int64_t NowUs() const;

  SchedulerConfig config_;
  Clock* clock_;
  Commit commit_;
  EventSink event_sink_;
  CircuitSink circuit_sink_;
  Status failed_;

  std::unordered_map<std::string, std::unique_ptr<Job>> jobs_;
  std::unordered_map<std::string, std::unique_ptr<Experiment>> experiments_;
  std::unordered_map<std::string, Experiment*> by_key_;
  std::unordered_map<std::string, std::unique_ptr<Worker>> workers_;
  std::set<ReadyKey> ready_;                        // dispatchable now
  std::set<std::pair<int64_t, Job*>> delayed_;      // (due_mono_ms, job): in backoff
  std::set<std::pair<int64_t, Job*>> leases_;       // (deadline, job)
  std::list<Waiter> waiters_;
  int64_t next_job_seq_ = 1;
  int64_t global_counts_[kNumJobStates] = {0};
  int64_t lease_expiries_ = 0;
  std::vector<double> dispatch_us_;
  // finetune job id -> step -> reported checkpoint (resume and fan-out).
  std::unordered_map<std::string, std::map<int64_t, tracking::CheckpointRow>> checkpoints_;
  std::unordered_map<std::string, tracking::CacheEntryRow> cache_;  // cache key -> source job
  StoredOutputs stored_outputs_{nullptr};                           // cache hits: blobs still there?

  metrics::Gauge* state_gauges_[kNumJobStates] = {nullptr};
  metrics::Gauge* queue_depth_ = nullptr;
  metrics::Gauge* delayed_depth_ = nullptr;
  metrics::Gauge* workers_alive_ = nullptr;
  metrics::Counter* lease_expiries_total_ = nullptr;
  metrics::Counter* stale_reports_total_ = nullptr;
  metrics::Histogram* dispatch_seconds_ = nullptr;
};

}  // namespace fc::coord
