// Tracking records the scheduler writes in the same transaction as the job transition that
// produced them (a checkpoint report, a step metric, a finished discover job), and the store
// reloads at start-up. Plain structs: no SQLite, no protobuf (docs/tracking.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fc::coord::tracking {

// One checkpoint reported by a finetune job: progress metrics_json
// {"checkpoint": {"step", "path", "parent", "name", "loss", "accuracy", "method"}}.
struct CheckpointRow {
  std::string job_id, name, experiment_id;
  int64_t step = 0;
  std::string parent;  // previous checkpoint's name, "base" for the first
  std::string path;    // where the reporting worker wrote it (local path or blob uri)
  std::string method;
  double loss = 0, accuracy = 0;
  int32_t attempt = 0;
  int64_t reported_ms = 0;
};

struct MetricRow {
  std::string job_id, name;
  int64_t step = 0;
  double value = 0;
};

// The summary of a discovered circuit (a discover job's result JSON).
struct CircuitRow {
  std::string id, experiment_id, job_id;
  int64_t step = -1;       // checkpoint step for re-extraction children, else -1
  std::string checkpoint;  // "<finetune job id>/checkpoint-<step>" or ""
  int64_t n_nodes = 0, n_edges = 0;
  std::string summary_json = "{}";
  int64_t created_ms = 0;
};

// A SUCCEEDED job whose outputs later identical jobs reuse.
struct CacheEntryRow {
  std::string key, job_id, engine_version;
  int64_t created_ms = 0;
};

struct TrackingWrites {
  std::vector<CheckpointRow> checkpoints;  // upserted by (job_id, name)
  std::vector<MetricRow> metrics;          // upserted by (job_id, name, step)
  std::vector<CircuitRow> circuits;        // upserted by id
  std::vector<CacheEntryRow> cache_entries;  // upserted by key
  bool empty() const {
    return checkpoints.empty() && metrics.empty() && circuits.empty() && cache_entries.empty();
  }
};

}  // namespace fc::coord::tracking
