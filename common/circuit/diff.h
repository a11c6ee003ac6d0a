// Comparing two collapsed circuits (algorithms.md 7): what stage-wise tracking reports.
//
//   * nodes added/removed (in after and not before / the reverse), overall and per layer;
//   * edges added/removed, overall and per layer; the layer of an edge is the layer of its
//     SOURCE node (input = layer 0), or of its destination with EdgeLayerBy::kDestination
//     (logits = layer L-1, as the original's fallback); node layers: input 0, logits L-1;
//   * node and edge Jaccard |A n B| / |A u B| (1.0 when both are empty);
//   * node-induced edge changes: changed edges incident to an added or removed node, vs the rest.
// Edge changes count |E_t \ E_t-1| + |E_t-1 \ E_t|. The original ft_edge counted only edges
// present in the current collapsed file whose in_graph differed, i.e. only additions; that
// number is kept as `ft_edge_original` so old plots can be reproduced.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/circuit/collapsed.h"
#include "common/circuit/graph.h"
#include "common/status.h"

namespace fc::circuit {

enum class EdgeLayerBy { kSource, kDestination };

struct CircuitDiff {
  std::vector<int> nodes_added, nodes_removed;                    // node indices, ascending
  std::vector<std::pair<int, int>> edges_added, edges_removed;    // (f, collapsed dst), 2.2 order
  std::vector<int64_t> nodes_added_per_layer, nodes_removed_per_layer;  // size L
  std::vector<int64_t> edges_added_per_layer, edges_removed_per_layer;  // size L
  int64_t nodes_before = 0, nodes_after = 0, edges_before = 0, edges_after = 0;
  double node_jaccard = 1.0;
  double edge_jaccard = 1.0;
  int64_t node_induced_edge_changes = 0;  // changed edges touching an added/removed node
  int64_t other_edge_changes = 0;
  int64_t ft_edge_original = 0;           // the original's (additions-only) count

  int64_t node_changes() const {
    return static_cast<int64_t>(nodes_added.size() + nodes_removed.size());
  }
  int64_t edge_changes() const {
    return static_cast<int64_t>(edges_added.size() + edges_removed.size());
  }
};

// Both circuits must share n_layers/n_heads/parallel_attn_mlp.
StatusOr<CircuitDiff> DiffCircuits(const CollapsedCircuit& before, const CollapsedCircuit& after,
                                   EdgeLayerBy by = EdgeLayerBy::kSource);

// Layer an edge is charged to (shared with the CircuitLoRA plan).
int EdgeLayer(const GraphLayout& g, int f, int collapsed_dst, EdgeLayerBy by);

// Jaccard of two circuits' in-graph edge sets / node sets (1.0 when both are empty).
StatusOr<double> EdgeJaccard(const CollapsedCircuit& a, const CollapsedCircuit& b);
StatusOr<double> NodeJaccard(const CollapsedCircuit& a, const CollapsedCircuit& b);

// numpy.percentile (linear interpolation) of the circuit's |edge scores|; NaN if no edges.
double AbsScorePercentile(const CollapsedCircuit& c, double percentile);

// The before/after diagram filter (FC before_after_circuit): keeps the edges with
// |score| >= the `percentile`-th percentile of this circuit's |scores| (95 in the original);
// nodes become exactly the endpoints of the kept edges.
StatusOr<CollapsedCircuit> PercentileFilter(const CollapsedCircuit& c, double percentile);

}  // namespace fc::circuit
