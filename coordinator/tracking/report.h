// The tracking views served by HTTP (/api/v1/experiments/{id}/tracking, /api/v1/circuits/{id},
// /api/v1/circuits/{a}/diff/{b}, /api/v1/lineage/{ckpt}) and printed by `fcctl report`, built
// from the store on a read-only connection (docs/tracking.md has the JSON shapes).
//
// Circuit diffs (algorithms.md 7: nodes/edges added/removed per checkpoint and per layer,
// Jaccard to the base circuit, node-induced vs other edge changes) need a circuit's edges: the
// stored edge scores (circuit_scores) when present, else the job's circuit output when it is a
// readable local path (same host or shared file system); without either, a point carries only
// the summary numbers and "diff": null.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/circuit/collapsed.h"
#include "common/status.h"
#include "coordinator/store/db.h"

namespace fc::coord::tracking {

StatusOr<nlohmann::json> ExperimentTrackingJson(store::Connection& conn, const std::string& experiment_id);
StatusOr<nlohmann::json> CircuitJson(store::Connection& conn, const std::string& circuit_id);
StatusOr<nlohmann::json> CircuitDiffJson(store::Connection& conn, const std::string& a, const std::string& b);
StatusOr<nlohmann::json> LineageJson(store::Connection& conn, const std::string& checkpoint_ref);

// The collapsed circuit of `circuit_id`: stored scores, else the producing job's output file.
StatusOr<circuit::CollapsedCircuit> LoadCollapsed(store::Connection& conn, const std::string& circuit_id);

}  // namespace fc::coord::tracking
