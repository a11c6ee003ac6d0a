// SQL of the tracking tables (migration 0002): applying TrackingWrites inside the writer's
// transaction, reloading checkpoints at start-up, and the read queries of TrackingService and
// the HTTP API (reader connections). Edge scores of a circuit are one row of two blobs, so a
// Pythia-1.4b graph (231,493 edges) is stored and read back in milliseconds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/circuit/circuit.h"
#include "common/status.h"
#include "coordinator/store/db.h"
#include "coordinator/tracking/rows.h"

namespace fc::coord::tracking {

// Inside the caller's transaction.
Status ApplyTrackingWrites(store::Connection& conn, const TrackingWrites& w);

StatusOr<std::vector<CacheEntryRow>> LoadCacheEntries(store::Connection& conn);

// All checkpoints, ordered by (job_id, step).
StatusOr<std::vector<CheckpointRow>> LoadCheckpoints(store::Connection& conn);
// Checkpoints of one experiment (or of one job when job_id is set), ordered by job, step.
StatusOr<std::vector<CheckpointRow>> ListCheckpoints(store::Connection& conn,
                                                     const std::string& experiment_id,
                                                     const std::string& job_id = "");
// "<job id>/<checkpoint name>" -> the row, or nullopt.
StatusOr<std::optional<CheckpointRow>> GetCheckpoint(store::Connection& conn, const std::string& ref);
// The chain ref, its parent, ... up to the first checkpoint ("base" parent), newest first.
StatusOr<std::vector<CheckpointRow>> Lineage(store::Connection& conn, const std::string& ref);

StatusOr<std::vector<MetricRow>> ListMetrics(store::Connection& conn, const std::string& job_id);

StatusOr<std::vector<CircuitRow>> ListCircuits(store::Connection& conn, const std::string& experiment_id);
StatusOr<std::optional<CircuitRow>> GetCircuit(store::Connection& conn, const std::string& id);

// Stores every edge score and the in-circuit masks of `c` for circuit `id` (which must exist in
// `circuits`), replacing earlier scores. Runs its own transaction unless one is open.
Status PutCircuitScores(store::Connection& conn, const std::string& id, const circuit::Circuit& c);
// NOT_FOUND when no scores are stored for `id`.
StatusOr<circuit::Circuit> GetCircuitScores(store::Connection& conn, const std::string& id);

}  // namespace fc::coord::tracking
