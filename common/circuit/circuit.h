// A circuit over the full (q/k/v-split) graph: every edge's score plus the in-graph masks.
//
// This is what `discover` produces: EdgeScores from attribution, then a selection (selection.h)
// fills edge_in and node_in. Dense masks indexed like EdgeScores (edge_in[f * n_backward + b])
// and node order of graph.h (node_in[n], logits last). Invariant after Prune(): an in-graph edge
// has both endpoints in the graph, see prune.h. Plain value type; not thread-safe to mutate.
#pragma once

#include <cstdint>
#include <vector>

#include "common/circuit/graph.h"
#include "common/status.h"

namespace fc::circuit {

struct Circuit {
  EdgeScores scores;
  std::vector<uint8_t> edge_in;   // [n_forward * n_backward], 1 = in graph; 0 where no edge
  std::vector<uint8_t> node_in;   // [n_nodes]
  std::vector<float> node_scores; // [EAP-new] optional node scores: empty or [n_nodes]; NaN = none

  const GraphConfig& cfg() const { return scores.cfg; }
  bool edge(int f, int b) const {
    return edge_in[static_cast<size_t>(f) * scores.n_backward() + b] != 0;
  }
  int64_t CountEdges() const;  // in-graph edges
  int64_t CountNodes() const;  // in-graph nodes (logits included)
};

// Checks the config and that every array has the size its config implies.
Status ValidateCircuit(const Circuit& c);

// A circuit with all masks empty (nothing in graph). Validates the config and the score size
// (data.size() must be n_forward * n_backward) and that non-edge entries are 0.
StatusOr<Circuit> MakeCircuit(EdgeScores scores);

}  // namespace fc::circuit
