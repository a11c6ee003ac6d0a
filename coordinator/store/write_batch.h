// A WriteBatch is every row change of one scheduler decision (a transition plus its events);
// the writer applies many batches in one transaction (group commit). Batches are validated on
// the io thread before they are queued, so applying one fails only on I/O errors or bugs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "coordinator/core/types.h"
#include "coordinator/tracking/rows.h"

namespace fc::coord::store {

// The new state of one job. The UPDATE is fenced: it must match the row's (attempt,
// lease_epoch) before the transition, so a late duplicate can never overwrite a newer attempt.
struct JobUpdate {
  JobRow row;
  int32_t expect_attempt = 0;
  int64_t expect_epoch = 0;
  bool write_outputs = false;  // replace the job's artifacts rows with row.outputs
};

struct ExperimentStateUpdate {
  std::string id;
  ExperimentState state = ExperimentState::kRunning;
  int64_t finished_ms = 0;
};

struct WriteBatch {
  std::vector<ExperimentRow> new_experiments;
  std::vector<JobRow> new_jobs;  // deps rows come from depends_on
  std::vector<JobUpdate> job_updates;
  std::vector<AttemptRow> attempts;  // upserted by (job_id, lease_epoch)
  std::vector<WorkerRow> workers;    // upserted by id
  std::vector<ExperimentStateUpdate> experiment_states;
  std::vector<EventRow> events;  // seq filled in by Apply
  tracking::TrackingWrites tracking;  // checkpoints, metrics, circuits (docs/tracking.md)

  bool empty() const {
    return new_experiments.empty() && new_jobs.empty() && job_updates.empty() &&
           attempts.empty() && workers.empty() && experiment_states.empty() && events.empty() && tracking.empty();
  }
};

}  // namespace fc::coord::store
