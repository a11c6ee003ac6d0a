#include "common/circuit/robustness.h"

#include <algorithm>

#include "common/circuit/diff.h"

namespace fc::circuit {

StatusOr<PairwiseJaccard> ComputePairwiseJaccard(const std::vector<CollapsedCircuit>& circuits,
                                                 bool nodes) {
  const size_t n = circuits.size();
  if (n < 2)
    return InvalidArgumentError("pairwise jaccard: need at least 2 circuits, got {}", n);
  PairwiseJaccard out;
  out.matrix.assign(n, std::vector<double>(n, 1.0));
  double sum = 0.0;
  int pairs = 0;
  out.min = 1.0;
  out.max = 0.0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      StatusOr<double> jac = nodes ? NodeJaccard(circuits[i], circuits[j])
                                   : EdgeJaccard(circuits[i], circuits[j]);
      if (!jac.ok()) return jac.status().WithContext(fmt::format("circuits {} and {}", i, j));
      out.matrix[i][j] = out.matrix[j][i] = *jac;
      sum += *jac;
      ++pairs;
      out.min = std::min(out.min, *jac);
      out.max = std::max(out.max, *jac);
    }
  }
  out.mean = sum / pairs;
  return out;
}

}  // namespace fc::circuit
