#include "common/circuit/diff.h"

#include <algorithm>
#include <cmath>

namespace fc::circuit {

namespace {

Status CheckSameShape(const CollapsedCircuit& a, const CollapsedCircuit& b, const char* what) {
  if (a.cfg != b.cfg)
    return InvalidArgumentError(
        "{}: circuits differ in shape: n_layers={} n_heads={} parallel={} vs n_layers={} "
        "n_heads={} parallel={}",
        what, a.cfg.n_layers, a.cfg.n_heads, a.cfg.parallel_attn_mlp, b.cfg.n_layers,
        b.cfg.n_heads, b.cfg.parallel_attn_mlp);
  FC_RETURN_IF_ERROR(ValidateCollapsed(a).WithContext(what));
  FC_RETURN_IF_ERROR(ValidateCollapsed(b).WithContext(what));
  return Status::OK();
}

double Jaccard(int64_t inter, int64_t uni) {
  return uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

}  // namespace

int EdgeLayer(const GraphLayout& g, int f, int collapsed_dst, EdgeLayerBy by) {
  if (by == EdgeLayerBy::kSource) return g.NodeLayer(f);
  return g.NodeLayer(g.CollapsedDstNode(collapsed_dst));
}

StatusOr<CircuitDiff> DiffCircuits(const CollapsedCircuit& before, const CollapsedCircuit& after,
                                   EdgeLayerBy by) {
  FC_RETURN_IF_ERROR(CheckSameShape(before, after, "circuit diff"));
  GraphLayout g(before.cfg);
  const int L = g.n_layers();
  CircuitDiff d;
  d.nodes_added_per_layer.assign(L, 0);
  d.nodes_removed_per_layer.assign(L, 0);
  d.edges_added_per_layer.assign(L, 0);
  d.edges_removed_per_layer.assign(L, 0);
  int64_t node_inter = 0, node_union = 0;
  std::vector<uint8_t> node_changed(g.n_nodes(), 0);
  for (int n = 0; n < g.n_nodes(); ++n) {
    const bool a = before.node_in[n], b = after.node_in[n];
    d.nodes_before += a;
    d.nodes_after += b;
    node_inter += a && b;
    node_union += a || b;
    if (b && !a) {
      d.nodes_added.push_back(n);
      ++d.nodes_added_per_layer[g.NodeLayer(n)];
      node_changed[n] = 1;
    } else if (a && !b) {
      d.nodes_removed.push_back(n);
      ++d.nodes_removed_per_layer[g.NodeLayer(n)];
      node_changed[n] = 1;
    }
  }
  int64_t edge_inter = 0, edge_union = 0;
  for (auto [f, c] : g.CollapsedEdgeOrder()) {
    const bool a = before.edge(f, c), b = after.edge(f, c);
    d.edges_before += a;
    d.edges_after += b;
    edge_inter += a && b;
    edge_union += a || b;
    if (a == b) continue;
    const int layer = EdgeLayer(g, f, c, by);
    if (b) {
      d.edges_added.emplace_back(f, c);
      ++d.edges_added_per_layer[layer];
    } else {
      d.edges_removed.emplace_back(f, c);
      ++d.edges_removed_per_layer[layer];
    }
    if (node_changed[f] || node_changed[g.CollapsedDstNode(c)]) ++d.node_induced_edge_changes;
    else ++d.other_edge_changes;
  }
  d.node_jaccard = Jaccard(node_inter, node_union);
  d.edge_jaccard = Jaccard(edge_inter, edge_union);
  // ft_edge: for each edge in the current file, count it if its in_graph differs from the
  // previous file's (missing = false). Collapsed files hold only in-graph edges -> additions.
  d.ft_edge_original = static_cast<int64_t>(d.edges_added.size());
  return d;
}

StatusOr<double> EdgeJaccard(const CollapsedCircuit& a, const CollapsedCircuit& b) {
  FC_RETURN_IF_ERROR(CheckSameShape(a, b, "edge jaccard"));
  int64_t inter = 0, uni = 0;
  for (size_t i = 0; i < a.edge_in.size(); ++i) {
    inter += a.edge_in[i] && b.edge_in[i];
    uni += a.edge_in[i] || b.edge_in[i];
  }
  return Jaccard(inter, uni);
}

StatusOr<double> NodeJaccard(const CollapsedCircuit& a, const CollapsedCircuit& b) {
  FC_RETURN_IF_ERROR(CheckSameShape(a, b, "node jaccard"));
  int64_t inter = 0, uni = 0;
  for (size_t i = 0; i < a.node_in.size(); ++i) {
    inter += a.node_in[i] && b.node_in[i];
    uni += a.node_in[i] || b.node_in[i];
  }
  return Jaccard(inter, uni);
}

double AbsScorePercentile(const CollapsedCircuit& c, double percentile) {
  std::vector<double> v;
  for (size_t i = 0; i < c.edge_in.size(); ++i)
    if (c.edge_in[i]) v.push_back(std::fabs(c.scores[i]));
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double rank = percentile / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

StatusOr<CollapsedCircuit> PercentileFilter(const CollapsedCircuit& c, double percentile) {
  if (!(percentile >= 0.0 && percentile <= 100.0))
    return InvalidArgumentError("percentile filter: percentile must be in [0, 100], got {}",
                                percentile);
  FC_RETURN_IF_ERROR(ValidateCollapsed(c).WithContext("percentile filter"));
  GraphLayout g(c.cfg);
  CollapsedCircuit out = MakeEmptyCollapsed(c.cfg);
  const double t = AbsScorePercentile(c, percentile);
  if (!std::isnan(t)) {
    for (size_t i = 0; i < c.edge_in.size(); ++i) {
      if (c.edge_in[i] && std::fabs(c.scores[i]) >= t) {
        out.edge_in[i] = 1;
        out.scores[i] = c.scores[i];
      }
    }
  }
  SetCollapsedNodesFromEdges(g, /*keep_input_logits=*/false, &out);
  return out;
}

}  // namespace fc::circuit
