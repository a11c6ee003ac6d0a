#include "common/circuit/circuit.h"

#include <cmath>

namespace fc::circuit {

int64_t Circuit::CountEdges() const {
  int64_t n = 0;
  for (uint8_t v : edge_in) n += v != 0;
  return n;
}

int64_t Circuit::CountNodes() const {
  int64_t n = 0;
  for (uint8_t v : node_in) n += v != 0;
  return n;
}

StatusOr<Circuit> MakeCircuit(EdgeScores scores) {
  FC_ASSIGN_OR_RETURN(GraphLayout g, GraphLayout::Create(scores.cfg));
  const size_t want = static_cast<size_t>(g.n_forward()) * g.n_backward();
  if (scores.data.size() != want)
    return InvalidArgumentError(
        "edge scores: expected {} x {} = {} floats for n_layers={} n_heads={}, got {}",
        g.n_forward(), g.n_backward(), want, g.n_layers(), g.n_heads(), scores.data.size());
  for (int b = 0; b < g.n_backward(); ++b) {
    for (int f = g.Prev(b); f < g.n_forward(); ++f) {
      if (scores.at(f, b) != 0.0f)
        return InvalidArgumentError(
            "edge scores: entry [{}, {}] ({} -> {}) is not an edge but holds {} (must be 0)", f, b,
            g.ForwardName(f), g.BackwardName(b), scores.at(f, b));
    }
  }
  Circuit c;
  c.scores = std::move(scores);
  c.edge_in.assign(want, 0);
  c.node_in.assign(static_cast<size_t>(g.n_nodes()), 0);
  return c;
}

}  // namespace fc::circuit
