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
  return MergeCollapsed(std::vector<const CollapsedCircuit*>{&a, &b}, opt);
}

StatusOr<CollapsedCircuit> MergeCollapsed(const std::vector<const CollapsedCircuit*>& cs,
                                          const MergeOptions& opt) {
  if (cs.empty()) return InvalidArgumentError("merge: no circuits given");
  const GraphConfig& cfg = cs[0]->cfg;
  FC_RETURN_IF_ERROR(ValidateGraphConfig(cfg));
  for (size_t k = 1; k < cs.size(); ++k)
    if (cs[k]->cfg != cfg)
      return InvalidArgumentError(
          "merge: circuit {} has n_layers={} n_heads={} parallel={}, circuit 0 n_layers={} "
          "n_heads={} parallel={}",
          k, cs[k]->cfg.n_layers, cs[k]->cfg.n_heads, cs[k]->cfg.parallel_attn_mlp, cfg.n_layers,
          cfg.n_heads, cfg.parallel_attn_mlp);
  GraphLayout g(cfg);
  CollapsedCircuit out = MakeEmptyCollapsed(cfg);
  for (const CollapsedCircuit* c : cs) {
    FC_RETURN_IF_ERROR(ValidateCollapsed(*c).WithContext("merge"));
    if (out.cfg.d_model == 0) out.cfg.d_model = c->cfg.d_model;
  }
  const bool uni = opt.mode == MergeMode::kUnion;
  for (int n = 0; n < g.n_nodes(); ++n) {
    int count = 0;
    for (const CollapsedCircuit* c : cs) count += c->node_in[n] != 0;
    out.node_in[n] = uni ? count > 0 : count == static_cast<int>(cs.size());
  }

  struct Kept {
    int f, c;
  };
  std::vector<Kept> kept;
  for (size_t i = 0; i < out.edge_in.size(); ++i) {
    int count = 0;
    double sum = 0.0, mx = 0.0, mn = 0.0;
    for (const CollapsedCircuit* c : cs) {
      if (!c->edge_in[i]) continue;
      const double s = c->scores[i];
      sum = count == 0 ? s : sum + s;
      mx = count == 0 ? s : std::max(mx, s);
      mn = count == 0 ? s : std::min(mn, s);
      ++count;
    }
    if (count == 0 || (!uni && count != static_cast<int>(cs.size()))) continue;
    double s = sum;  // a single circuit's edge keeps its score
    if (count > 1) {
      switch (opt.score) {
        // 0.5 * (a + b) for two circuits, like the original (division by 2 is exact).
        case MergeScore::kAvg: s = sum / count; break;
        case MergeScore::kMax: s = mx; break;
        default: s = mn; break;
      }
    }
    out.edge_in[i] = 1;
    out.scores[i] = s;
    kept.push_back({static_cast<int>(i / out.n_cols()), static_cast<int>(i % out.n_cols())});
  }

  if (opt.target_edges > 0 && static_cast<int64_t>(kept.size()) > opt.target_edges) {
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
