// All SQL of the coordinator's tables: applying write batches (writer connection), loading the
// whole state at start-up, and the paged read queries the RPC and HTTP layers serve (reader
// connections). Reads page by key and keep their implicit transactions short.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/store/db.h"
#include "coordinator/store/write_batch.h"

namespace fc::coord::store {

// Applies one batch inside the caller's transaction; fills events[i].seq.
Status ApplyBatch(Connection& conn, WriteBatch& batch);

struct Snapshot {
  std::vector<ExperimentRow> experiments;
  std::vector<JobRow> jobs;  // with depends_on (names) and outputs, ordered by seq
  std::vector<WorkerRow> workers;
  int64_t max_event_seq = 0;
  int64_t max_job_seq = 0;
  std::vector<tracking::CheckpointRow> checkpoints;  // reported checkpoints (resume, fan-out)
  std::vector<tracking::CacheEntryRow> cache_entries;  // job output cache
};
StatusOr<Snapshot> LoadSnapshot(Connection& conn);

struct JobFilter {
  std::string experiment_id, kind, worker_id;
  JobState state = JobState::kUnspecified;  // unspecified = any
};
struct JobPage {
  std::vector<JobRow> jobs;
  std::string next_page_token;  // "" = last page
};
// page_size is clamped to [1, 1000] (0 = 50). Tokens are opaque (the last id seen).
StatusOr<JobPage> ListJobs(Connection& conn, const JobFilter& filter, int page_size,
                           const std::string& page_token);
StatusOr<std::optional<JobRow>> GetJob(Connection& conn, const std::string& id);

struct ExperimentPage {
  std::vector<ExperimentRow> experiments;
  std::string next_page_token;
};
StatusOr<ExperimentPage> ListExperiments(Connection& conn, const std::string& name_prefix,
                                         ExperimentState state, int page_size,
                                         const std::string& page_token);
StatusOr<std::optional<ExperimentRow>> GetExperiment(Connection& conn, const std::string& id);
StatusOr<std::optional<ExperimentRow>> FindExperimentByKey(Connection& conn, const std::string& key);
// State name -> count for one experiment.
StatusOr<std::map<std::string, int32_t>> CountJobsByState(Connection& conn,
                                                          const std::string& experiment_id);
// Events with seq > after_seq (of one experiment unless empty), oldest first, at most limit.
StatusOr<std::vector<EventRow>> ReadEvents(Connection& conn, const std::string& experiment_id,
                                           int64_t after_seq, int limit);
StatusOr<int64_t> MaxEventSeq(Connection& conn);

}  // namespace fc::coord::store
