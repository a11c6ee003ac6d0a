// The tracking views served by HTTP (/api/v1/experiments/{id}/tracking, /api/v1/circuits/{id},
// /api/v1/circuits/{a}/diff/{b}, /api/v1/lineage/{ckpt}) and printed by `fcctl report`, built
// from the store on a read-only connection (docs/tracking.md has the JSON shapes).
//
// Circuit diffs (algorithms.md 7: nodes/edges added/removed per checkpoint and per layer,
// Jaccard to the base circuit, node-induced vs other edge changes) need a circuit's edges: the
// stored edge scores (circuit_scores) when present, else the job's circuit output read through
// artifacts::ReadOutputFile (a local path, or a `blob:` file or tree in the coordinator's
// artifact store `blobs`, re-hashed while read); without either, a point carries only the
// summary numbers and "diff": null.
//
// Every function may read files and blobs: run them on a thread that may block (the HTTP
// thread, a store reader), never on the io thread or a gRPC callback. `blobs` may be null
// (no --artifacts): blob outputs are then unreadable.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/circuit/collapsed.h"
#include "common/circuit/json_format.h"
#include "common/status.h"
#include "coordinator/store/db.h"

namespace fc::artifacts {
class BlobStore;
}

namespace fc::coord::tracking {

StatusOr<nlohmann::json> ExperimentTrackingJson(store::Connection& conn, const std::string& experiment_id,
                                                const artifacts::BlobStore* blobs = nullptr);
StatusOr<nlohmann::json> CircuitJson(store::Connection& conn, const std::string& circuit_id);
StatusOr<nlohmann::json> CircuitDiffJson(store::Connection& conn, const std::string& a, const std::string& b,
                                         const artifacts::BlobStore* blobs = nullptr);
StatusOr<nlohmann::json> LineageJson(store::Connection& conn, const std::string& checkpoint_ref);

// The circuit file of `circuit_id`'s producing job (its first output): circuit.json or
// circuit/circuit.json in a folder or tree (else circuit_collapsed.json, circuit/
// circuit_collapsed.json), or the file itself. NOT_FOUND for an unknown id; the reader's
// error (NOT_FOUND, FAILED_PRECONDITION, DATA_LOSS, ...) naming the output otherwise.
StatusOr<circuit::CircuitFile> ReadCircuitOutput(store::Connection& conn, const std::string& circuit_id,
                                                 const artifacts::BlobStore* blobs);

// The collapsed circuit of `circuit_id`: stored scores, else the producing job's output. An
// unknown id is NOT_FOUND; an unreadable output FAILED_PRECONDITION (DATA_LOSS for a corrupt
// blob), naming the output and why.
StatusOr<circuit::CollapsedCircuit> LoadCollapsed(store::Connection& conn, const std::string& circuit_id,
                                                  const artifacts::BlobStore* blobs = nullptr);

// `fcctl circuit export` / GET /api/v1/circuits/{id}/export?format=: the circuit as
//   eapig      EAP-IG JSON, full q/k/v form, in the dialect discover jobs write (EAP-old)
//   collapsed  q/k/v-collapsed EAP-IG JSON (FC's collapse_qkv.py form)
//   dot        Graphviz DOT of the collapsed circuit (common/circuit/dot_format.h)
// from the stored scores, else the job's output (as LoadCollapsed). INVALID_ARGUMENT for an
// unknown format, NOT_FOUND for an unknown id, FAILED_PRECONDITION when neither scores nor a
// readable output exist (or eapig is asked of a collapsed-only circuit), RESOURCE_EXHAUSTED
// when the document would exceed max_bytes.
enum class ExportFormat { kEapIg, kCollapsed, kDot };
inline constexpr int64_t kMaxExportBytes = int64_t{64} << 20;
StatusOr<ExportFormat> ParseExportFormat(const std::string& name);
struct CircuitExport {
  std::string body;
  std::string content_type;  // application/json or text/vnd.graphviz
};
StatusOr<CircuitExport> ExportCircuit(store::Connection& conn, const std::string& circuit_id, ExportFormat format,
                                      const artifacts::BlobStore* blobs = nullptr,
                                      int64_t max_bytes = kMaxExportBytes);

}  // namespace fc::coord::tracking
