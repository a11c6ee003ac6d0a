#include "common/circuit/merge.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/circuit/graph.h"

namespace fc::circuit {

StatusOr<MergeMode> ParseMergeMode(std::string_view s) {
  if (s == "union") return MergeMode::kUnion;
  if (s == "intersection") return MergeMode::kIntersection;
  return InvalidArgumentError("merge mode '{}': expected union or intersection", s);
}

StatusOr<MergeScore> ParseMergeScore(std::string_view s) {
  if (s == "avg") return MergeScore::kAvg;
  if (s == "max") return MergeScore::kMax;
  if (s == "min") return MergeScore::kMin;
  return InvalidArgumentError("merge score rule '{}': expected avg, max or min", s);
}

StatusOr<CollapsedCircuit> MergeCollapsed(const CollapsedCircuit& a, const CollapsedCircuit& b,
                                          const MergeOptions& opt) {
  if (a.cfg != b.cfg)
    return InvalidArgumentError(
        "merge: circuits differ in shape: n_layers={} n_heads={} vs n_layers={} n_heads={}",
        a.cfg.n_layers, a.cfg.n_heads, b.cfg.n_layers, b.cfg.n_heads);
  FC_RETURN_IF_ERROR(ValidateGraphConfig(a.cfg));
  GraphLayout g(a.cfg);
  CollapsedCircuit out = MakeEmptyCollapsed(a.cfg);
  out.cfg.d_model = a.cfg.d_model ? a.cfg.d_model : b.cfg.d_model;
  const bool uni = opt.mode == MergeMode::kUnion;
  for (int n = 0; n < g.n_nodes(); ++n)
    out.node_in[n] = uni ? (a.node_in[n] || b.node_in[n]) : (a.node_in[n] && b.node_in[n]);

  struct Kept {
    int f, c;
  };
  std::vector<Kept> kept;
  for (size_t i = 0; i < a.edge_in.size(); ++i) {
    const bool in_a = a.edge_in[i], in_b = b.edge_in[i];
    double s;
    if (in_a && in_b) {
      switch (opt.score) {
        case MergeScore::kAvg: s = 0.5 * (a.scores[i] + b.scores[i]); break;
        case MergeScore::kMax: s = std::max(a.scores[i], b.scores[i]); break;
        default: s = std::min(a.scores[i], b.scores[i]); break;
      }
    } else if (uni && in_a) {
      s = a.scores[i];
    } else if (uni && in_b) {
      s = b.scores[i];
    } else {
      continue;
    }
    out.edge_in[i] = 1;
    out.scores[i] = s;
    kept.push_back({static_cast<int>(i / out.n_cols()), static_cast<int>(i % out.n_cols())});
  }

  if (opt.target_edges >= 0 && static_cast<int64_t>(kept.size()) > opt.target_edges) {
    std::vector<std::string> names(kept.size());
    for (size_t i = 0; i < kept.size(); ++i) names[i] = g.CollapsedEdgeName(kept[i].f, kept[i].c);
    std::vector<size_t> idx(kept.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    auto abs_of = [&](size_t i) {
      const double s = out.score(kept[i].f, kept[i].c);
      return std::isnan(s) ? -1.0 : std::fabs(s);
    };
    std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
      const double ax = abs_of(x), ay = abs_of(y);
      if (ax != ay) return ax > ay;
      return names[x] < names[y];
    });
    for (size_t r = static_cast<size_t>(opt.target_edges); r < idx.size(); ++r) {
      const size_t i = out.Index(kept[idx[r]].f, kept[idx[r]].c);
      out.edge_in[i] = 0;
      out.scores[i] = 0.0;
    }
  }

  if (opt.drop_untouched_nodes) {
    std::vector<uint8_t> touched(g.n_nodes(), 0);
    touched[0] = touched[g.NodeLogits()] = 1;  // always kept (with their merged flag)
    for (int f = 0; f < g.n_forward(); ++f)
      for (int c = 0; c < g.n_collapsed_backward(); ++c)
        if (out.edge(f, c)) touched[f] = touched[g.CollapsedDstNode(c)] = 1;
    for (int n = 0; n < g.n_nodes(); ++n) out.node_in[n] = out.node_in[n] && touched[n];
  }
  return out;
}

}  // namespace fc::circuit
