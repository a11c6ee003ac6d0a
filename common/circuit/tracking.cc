#include "common/circuit/tracking.h"

#include <cctype>

#include "common/circuit/diff.h"

namespace fc::circuit {

StatusOr<std::vector<TrackPoint>> TrackCircuits(
    const std::vector<std::pair<int64_t, CollapsedCircuit>>& by_step) {
  std::vector<TrackPoint> out;
  for (size_t i = 0; i < by_step.size(); ++i) {
    const auto& [step, c] = by_step[i];
    if (i > 0 && step <= by_step[i - 1].first)
      return InvalidArgumentError("circuit tracking: steps must increase, got {} after {}", step,
                                  by_step[i - 1].first);
    TrackPoint p;
    p.step = step;
    p.nodes = c.CountNodes();
    p.edges = c.CountEdges();
    if (i > 0) {
      StatusOr<CircuitDiff> d = DiffCircuits(by_step[i - 1].second, c);
      if (!d.ok()) return d.status().WithContext(fmt::format("circuit tracking step {}", step));
      p.nodes_added = static_cast<int64_t>(d->nodes_added.size());
      p.nodes_removed = static_cast<int64_t>(d->nodes_removed.size());
      p.edges_added = static_cast<int64_t>(d->edges_added.size());
      p.edges_removed = static_cast<int64_t>(d->edges_removed.size());
      p.node_induced_edge_changes = d->node_induced_edge_changes;
      p.ft_edge_original = d->ft_edge_original;
      p.node_jaccard_prev = d->node_jaccard;
      p.edge_jaccard_prev = d->edge_jaccard;
      StatusOr<double> nb = NodeJaccard(by_step[0].second, c);
      StatusOr<double> eb = EdgeJaccard(by_step[0].second, c);
      if (!nb.ok()) return nb.status();
      if (!eb.ok()) return eb.status();
      p.node_jaccard_base = *nb;
      p.edge_jaccard_base = *eb;
    }
    out.push_back(p);
  }
  return out;
}

std::optional<int64_t> CheckpointStep(std::string_view name) {
  static constexpr std::string_view kWord = "checkpoint";
  size_t pos = name.rfind(kWord);
  while (pos != std::string_view::npos) {
    size_t i = pos + kWord.size();
    if (i < name.size() && (name[i] == '_' || name[i] == '-')) {
      ++i;
      size_t j = i;
      while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
      if (j > i && j - i <= 18) {
        int64_t v = 0;
        for (size_t k = i; k < j; ++k) v = v * 10 + (name[k] - '0');
        return v;
      }
    }
    if (pos == 0) break;
    pos = name.rfind(kWord, pos - 1);
  }
  return std::nullopt;
}

}  // namespace fc::circuit
