// Reading and writing circuits as EAP-IG JSON (algorithms.md 4.5), both dialects, both forms.
//
//   [EAP-old]  {"cfg": {"n_layers", "n_heads", "parallel_attn_mlp"},
//               "nodes": {name: bool}, "edges": {name: {"score": float|null, "in_graph": bool}}}
//   [EAP-new]  same, but "nodes": {name: {"in_graph": bool, "score"?: float|null}} and cfg adds
//              "d_model" (neuron fields, if any, are accepted and ignored).
// Forms:
//   full       every node and every edge of the q/k/v-split graph is listed (score null -> 0,
//              as FC's apply_topn)
//   collapsed  FC collapse_qkv.py output: nodes, only in-graph edges, head destinations
//              without the <q|k|v> suffix (in_graph=false entries, if any, are dropped). A node
//              missing here is "not in graph": FC's merge_circuit deletes untouched nodes.
// The dialect is detected from the node values, the form from the edge names (any "<q|k|v>"
// destination = full). Every error names the source (file), the JSON path and the problem, e.g.
//   circuit.json: edges["a0.h1->a30.h1<q>"]: unknown destination 'a30.h1<q>' (L=24, H=16)
// Output is written in node order and edge insertion order (algorithms.md 2.2), like the
// original; NaN/inf scores are written as null. Files are written to "<path>.tmp" then renamed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/circuit/circuit.h"
#include "common/circuit/collapsed.h"
#include "common/circuit/graph.h"
#include "common/status.h"

namespace fc::circuit {

enum class JsonDialect { kEapOld, kEapNew };

struct CircuitFile {
  JsonDialect dialect = JsonDialect::kEapOld;
  bool is_collapsed = false;
  Circuit full;                  // valid when !is_collapsed
  CollapsedCircuit collapsed;    // valid when is_collapsed
  GraphConfig cfg() const { return is_collapsed ? collapsed.cfg : full.cfg(); }
};

// `source` is used in error messages (a file name). If `expect` is given, the file's cfg must
// have the same n_layers/n_heads/parallel_attn_mlp.
StatusOr<CircuitFile> ParseCircuitJson(std::string_view text, const std::string& source,
                                       const std::optional<GraphConfig>& expect = std::nullopt);
StatusOr<CircuitFile> ReadCircuitJson(const std::string& path,
                                      const std::optional<GraphConfig>& expect = std::nullopt);
// Either form, returned collapsed (a full file is collapsed with Collapse()).
StatusOr<CollapsedCircuit> ReadCollapsedCircuitJson(
    const std::string& path, const std::optional<GraphConfig>& expect = std::nullopt);

// The string forms require a valid circuit (ValidateCircuit / ValidateCollapsed); the Write*
// functions check it and return the error instead.
std::string CircuitToJson(const Circuit& c, JsonDialect dialect);
std::string CollapsedToJson(const CollapsedCircuit& c, JsonDialect dialect);
Status WriteCircuitJson(const Circuit& c, JsonDialect dialect, const std::string& path);
Status WriteCollapsedJson(const CollapsedCircuit& c, JsonDialect dialect, const std::string& path);

// Shared by the writers: reads a whole file / writes atomically (tmp + rename).
StatusOr<std::string> ReadWholeFile(const std::string& path);
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace fc::circuit
