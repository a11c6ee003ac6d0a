// Union / intersection merge of two collapsed circuits (algorithms.md 9, FC merge_circuit).
//
//   nodes: union -> in A or in B; intersection -> in A and in B;
//   edges: union of names (intersection: common names only); a common edge gets avg
//          0.5 (s_A + s_B), or signed max / min; the others keep their score;
//   target: if more than target_edges edges, keep the target_edges largest |score|, ties broken
//          by edge NAME ascending (the original iterated a Python set: hash-seed dependent);
//   nodes not touched by a kept edge are dropped, input and logits keep their merged flag.
// Deterministic; both circuits must have the same cfg.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/circuit/collapsed.h"
#include "common/status.h"

namespace fc::circuit {

enum class MergeMode { kUnion, kIntersection };
enum class MergeScore { kAvg, kMax, kMin };

struct MergeOptions {
  MergeMode mode = MergeMode::kUnion;
  MergeScore score = MergeScore::kAvg;
  int64_t target_edges = 0;  // <= 0: keep all, as the DAG merge kind (the paper used 11,479)
  bool drop_untouched_nodes = true;
};

StatusOr<MergeMode> ParseMergeMode(std::string_view s);    // "union" | "intersection"
StatusOr<MergeScore> ParseMergeScore(std::string_view s);  // "avg" | "max" | "min"

StatusOr<CollapsedCircuit> MergeCollapsed(const CollapsedCircuit& a, const CollapsedCircuit& b,
                                          const MergeOptions& opt = {});

// N-way form (the DAG's `merge` kind takes a list): union = in any, intersection = in all;
// an edge in several circuits gets the mean (avg) / max / min of the scores it has. For two
// circuits this is exactly the pairwise rule above. Needs >= 1 circuit.
StatusOr<CollapsedCircuit> MergeCollapsed(const std::vector<const CollapsedCircuit*>& circuits,
                                          const MergeOptions& opt = {});

}  // namespace fc::circuit
