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

Status ValidateCircuit(const Circuit& c) {
  FC_RETURN_IF_ERROR(ValidateGraphConfig(c.cfg()));
  GraphLayout g(c.cfg());
  const size_t dense = static_cast<size_t>(g.n_forward()) * g.n_backward();
  if (c.scores.data.size() != dense || c.edge_in.size() != dense)
    return InvalidArgumentError(
        "circuit: scores/edge_in hold {}/{} entries, n_layers={} n_heads={} needs {}",
        c.scores.data.size(), c.edge_in.size(), g.n_layers(), g.n_heads(), dense);
  if (c.node_in.size() != static_cast<size_t>(g.n_nodes()))
    return InvalidArgumentError("circuit: node_in holds {} entries, needs {}", c.node_in.size(),
                                g.n_nodes());
  if (!c.node_scores.empty() && c.node_scores.size() != static_cast<size_t>(g.n_nodes()))
    return InvalidArgumentError("circuit: node_scores holds {} entries, needs 0 or {}",
                                c.node_scores.size(), g.n_nodes());
  return Status::OK();
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
