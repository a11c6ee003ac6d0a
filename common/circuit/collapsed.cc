#include "common/circuit/collapsed.h"

namespace fc::circuit {

int64_t CollapsedCircuit::CountEdges() const {
  int64_t n = 0;
  for (uint8_t v : edge_in) n += v != 0;
  return n;
}

int64_t CollapsedCircuit::CountNodes() const {
  int64_t n = 0;
  for (uint8_t v : node_in) n += v != 0;
  return n;
}

Status ValidateCollapsed(const CollapsedCircuit& c) {
  FC_RETURN_IF_ERROR(ValidateGraphConfig(c.cfg));
  const size_t nf = static_cast<size_t>(c.n_cols());
  if (c.edge_in.size() != nf * nf || c.scores.size() != nf * nf)
    return InvalidArgumentError(
        "collapsed circuit: edge_in/scores hold {}/{} entries, n_layers={} n_heads={} needs {}",
        c.edge_in.size(), c.scores.size(), c.cfg.n_layers, c.cfg.n_heads, nf * nf);
  if (c.node_in.size() != nf + 1)
    return InvalidArgumentError("collapsed circuit: node_in holds {} entries, needs {}",
                                c.node_in.size(), nf + 1);
  if (!c.node_scores.empty() && c.node_scores.size() != nf + 1)
    return InvalidArgumentError("collapsed circuit: node_scores holds {} entries, needs 0 or {}",
                                c.node_scores.size(), nf + 1);
  return Status::OK();
}

CollapsedCircuit MakeEmptyCollapsed(const GraphConfig& cfg) {
  CollapsedCircuit c;
  c.cfg = cfg;
  const size_t nf = static_cast<size_t>(c.n_cols());
  c.node_in.assign(nf + 1, 0);
  c.edge_in.assign(nf * nf, 0);
  c.scores.assign(nf * nf, 0.0);
  return c;
}

StatusOr<CollapsedCircuit> Collapse(const GraphLayout& g, const Circuit& c) {
  FC_RETURN_IF_ERROR(ValidateCircuit(c));
  if (c.cfg() != g.config())
    return InvalidArgumentError("collapse: circuit has n_layers={} n_heads={}, layout {} / {}",
                                c.cfg().n_layers, c.cfg().n_heads, g.n_layers(), g.n_heads());
  CollapsedCircuit out = MakeEmptyCollapsed(c.cfg());
  out.node_in = c.node_in;
  out.node_scores = c.node_scores;
  // Iterate destinations in index order so each sum adds q, then k, then v (= the original's
  // insertion order), keeping the double sum bit-identical to Python's.
  const int nb = g.n_backward();
  for (int f = 0; f < g.n_forward(); ++f) {
    for (int b = 0; b < nb; ++b) {
      if (!c.edge(f, b)) continue;
      const int col = g.CollapsedOf(b);
      const size_t i = out.Index(f, col);
      out.scores[i] = out.edge_in[i] ? out.scores[i] + static_cast<double>(c.scores.at(f, b))
                                     : static_cast<double>(c.scores.at(f, b));
      out.edge_in[i] = 1;
    }
  }
  return out;
}

void SetCollapsedNodesFromEdges(const GraphLayout& g, bool keep_input_logits, CollapsedCircuit* c) {
  c->node_in.assign(static_cast<size_t>(g.n_nodes()), 0);
  const int nc = g.n_collapsed_backward();
  for (int f = 0; f < g.n_forward(); ++f) {
    for (int col = 0; col < nc; ++col) {
      if (!c->edge(f, col)) continue;
      c->node_in[f] = 1;
      c->node_in[g.CollapsedDstNode(col)] = 1;
    }
  }
  if (keep_input_logits) {
    c->node_in[0] = 1;
    c->node_in[g.NodeLogits()] = 1;
  }
}

}  // namespace fc::circuit
