// Stage-wise circuit tracking over fine-tuning checkpoints (algorithms.md 7): one row per
// checkpoint with node/edge counts and the changes vs the previous checkpoint and vs the first
// (base) circuit. Inputs are collapsed circuits ordered by step (checkpoint_0 = base model).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/circuit/collapsed.h"
#include "common/status.h"

namespace fc::circuit {

struct TrackPoint {
  int64_t step = 0;
  int64_t nodes = 0, edges = 0;            // in-graph counts
  int64_t nodes_added = 0, nodes_removed = 0;  // vs previous checkpoint (0 for the first)
  int64_t edges_added = 0, edges_removed = 0;
  int64_t node_induced_edge_changes = 0;
  int64_t ft_edge_original = 0;            // the original additions-only edge-change count
  double node_jaccard_prev = 1.0, edge_jaccard_prev = 1.0;
  double node_jaccard_base = 1.0, edge_jaccard_base = 1.0;  // vs the first circuit
};

// Steps must be strictly increasing; all circuits must share one cfg.
StatusOr<std::vector<TrackPoint>> TrackCircuits(
    const std::vector<std::pair<int64_t, CollapsedCircuit>>& by_step);

// The integer of "checkpoint_(\d+)" / "checkpoint-(\d+)" in a file or folder name (the
// original sorts files by it); nullopt when absent.
std::optional<int64_t> CheckpointStep(std::string_view name);

}  // namespace fc::circuit
