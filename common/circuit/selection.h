// Choosing a circuit's edges from its scores (algorithms.md 4.1, 4.3).
//
// Every selector first clears the masks, sets edge_in, derives node_in and (by default) runs
// Prune() (prune.h). Ranking key: |score| (absolute, the paper's default) or the signed score;
// NaN ranks below everything. Ties are broken by the edge insertion order of algorithms.md 2.2
// (lower index first), i.e. a stable descending sort on (-key, insertion_index): reproducible,
// unlike [EAP-new]'s non-stable argsort, and equal to [EAP-old]'s Python stable sort.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/circuit/circuit.h"
#include "common/circuit/graph.h"
#include "common/status.h"

namespace fc::circuit {

struct Selection {
  enum class Kind { kTopN, kTopPercent, kThreshold, kGreedy };
  Kind kind = Kind::kTopPercent;
  // kTopN / kGreedy: edge count; kTopPercent: fraction of ALL edges in [0, 1] (0.05 = 5%,
  // n = int(fraction * |E|)); kThreshold: tau.
  double value = 0.05;
  bool absolute = true;  // rank by |score| (false: by signed score, and threshold s >= tau)
  bool prune = true;

  // "top:11574", "top:5%", "threshold:1e-6", "greedy:200"; an optional ",signed" and/or
  // ",noprune" suffix. Errors name the text and what is wrong.
  static StatusOr<Selection> Parse(std::string_view text);
  std::string ToString() const;
};

// n = int(fraction * |E|) exactly as Python's int(p * n_edges) (5% of 231,493 = 11,574).
int64_t TopPercentCount(const GraphLayout& g, double fraction);

Status SelectTopN(const GraphLayout& g, int64_t n, bool absolute, bool prune, Circuit* c);
Status SelectThreshold(const GraphLayout& g, double tau, bool absolute, bool prune, Circuit* c);
// [EAP-old] apply_greedy: grow from logits, always taking the best-ranked edge into a node
// already in the graph; ties by insertion order.
Status SelectGreedy(const GraphLayout& g, int64_t n, bool absolute, bool prune, Circuit* c);
Status Select(const GraphLayout& g, const Selection& sel, Circuit* c);

}  // namespace fc::circuit
