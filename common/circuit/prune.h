// Pruning a circuit to its live part, as a fixpoint ([EAP-new] prune(), algorithms.md 4.2).
//
// After Prune():
//   * an edge is in only if both its endpoints are in;
//   * a node other than logits is in only if it has >= 1 in-graph outgoing edge;
//   * a node other than input is in only if it has >= 1 in-graph incoming edge
//     (input always "has input"; logits needs an in-graph parent edge).
// Removing a node removes its edges and may kill its neighbours; this repeats until nothing
// changes (the [EAP-new] PR #17 fix of the premature loop exit). On normal graphs the result
// equals [EAP-old] prune_dead_nodes(). O(nodes * (n_backward + 3 n_forward)).
#pragma once

#include <cstdint>

#include "common/circuit/circuit.h"
#include "common/circuit/graph.h"

namespace fc::circuit {

struct PruneStats {
  int64_t nodes_removed = 0;
  int64_t edges_removed = 0;
};

PruneStats Prune(const GraphLayout& g, Circuit* c);

// Sets node_in to exactly the endpoints of the in-graph edges (what top-n/threshold do before
// pruning: "their parent and child nodes in").
void SetNodesFromEdges(const GraphLayout& g, Circuit* c);

}  // namespace fc::circuit
