// Graphviz DOT pictures of circuits (for `dot -Tsvg`; the CLI and dashboard can serve them).
//
// Only in-graph nodes and edges are drawn. Nodes are grouped by layer (rank=same per layer:
// input at the bottom, logits at the top, rankdir=BT). Edge colour encodes the sign (blue >= 0,
// red < 0), pen width |score| scaled linearly to [min_width, max_width] by the largest |score|
// drawn. A full circuit draws one edge per q/k/v input, labelled q/k/v.
#pragma once

#include <string>

#include "common/circuit/circuit.h"
#include "common/circuit/collapsed.h"
#include "common/status.h"

namespace fc::circuit {

struct DotOptions {
  std::string graph_name = "circuit";
  double min_width = 0.5;
  double max_width = 6.0;
  std::string positive_color = "#1f77b4";
  std::string negative_color = "#d62728";
  bool label_scores = false;  // print the score on each edge
};

std::string CollapsedToDot(const CollapsedCircuit& c, const DotOptions& opt = {});
std::string CircuitToDot(const Circuit& c, const DotOptions& opt = {});
Status WriteDot(const std::string& dot, const std::string& path);

}  // namespace fc::circuit
