// Robustness of circuit discovery across data splits (algorithms.md 10): pairwise Jaccard of
// the in-graph edge sets of several circuits (5 splits -> 10 pairs), and their mean. Use
// collapsed or in-graph-only circuits; on full files every edge is present and Jaccard is 1.
#pragma once

#include <vector>

#include "common/circuit/collapsed.h"
#include "common/status.h"

namespace fc::circuit {

struct PairwiseJaccard {
  std::vector<std::vector<double>> matrix;  // n x n, diagonal 1
  double mean = 1.0;                        // over the n(n-1)/2 pairs i < j
  double min = 1.0;
  double max = 1.0;
};

// Needs >= 2 circuits of one cfg. nodes=true compares node sets instead of edge sets.
StatusOr<PairwiseJaccard> ComputePairwiseJaccard(const std::vector<CollapsedCircuit>& circuits,
                                                 bool nodes = false);

}  // namespace fc::circuit
