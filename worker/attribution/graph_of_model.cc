#include "worker/attribution/graph_of_model.h"

#include <cstring>

namespace fc::attribution {

circuit::GraphConfig GraphConfigOf(const model::ModelConfig& cfg) {
  circuit::GraphConfig g;
  g.n_layers = static_cast<int>(cfg.n_layers);
  g.n_heads = static_cast<int>(cfg.n_heads);
  g.parallel_attn_mlp = cfg.parallel_residual;
  g.d_model = static_cast<int>(cfg.d_model);
  return g;
}

torch::Tensor RealEdgeMask(const circuit::GraphLayout& layout) {
  const int nf = layout.n_forward(), nb = layout.n_backward();
  torch::Tensor prev = torch::empty({1, nb}, torch::kLong);
  for (int b = 0; b < nb; ++b) prev[0][b] = layout.Prev(b);
  return torch::arange(nf, torch::kLong).view({nf, 1}).lt(prev);
}

circuit::EdgeScores ToEdgeScores(const circuit::GraphLayout& layout, const torch::Tensor& dense) {
  circuit::EdgeScores scores(layout.config());
  torch::Tensor d = (dense.to(torch::kCPU, torch::kFloat) * RealEdgeMask(layout)).contiguous();
  std::memcpy(scores.data.data(), d.data_ptr<float>(), scores.data.size() * sizeof(float));
  return scores;
}

}  // namespace fc::attribution
