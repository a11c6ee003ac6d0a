#include "common/circuit/prune.h"

#include <vector>

namespace fc::circuit {

namespace {

// Calls fn(f, b) for each destination column b of node `node` (its incoming edges come from
// rows f < Prev(b)). Heads have three columns (q, k, v).
template <typename Fn>
void ForEachInColumn(const GraphLayout& g, int node, Fn fn) {
  if (node == 0) return;
  if (node == g.NodeLogits()) {
    fn(g.BackwardLogits());
    return;
  }
  NodeInfo n = g.ForwardInfo(node);
  if (n.kind == NodeKind::kMlp) {
    fn(g.BackwardMlp(n.layer));
    return;
  }
  for (int q = 0; q < 3; ++q) fn(g.BackwardHead(n.layer, n.head, static_cast<Qkv>(q)));
}

}  // namespace

void SetNodesFromEdges(const GraphLayout& g, Circuit* c) {
  c->node_in.assign(static_cast<size_t>(g.n_nodes()), 0);
  const int nb = g.n_backward();
  for (int f = 0; f < g.n_forward(); ++f) {
    const uint8_t* row = &c->edge_in[static_cast<size_t>(f) * nb];
    for (int b = 0; b < nb; ++b) {
      if (row[b]) {
        c->node_in[f] = 1;
        c->node_in[g.DstNode(b)] = 1;
      }
    }
  }
}

PruneStats Prune(const GraphLayout& g, Circuit* c) {
  PruneStats stats;
  const int nf = g.n_forward(), nb = g.n_backward(), nn = g.n_nodes();
  std::vector<int32_t> out_cnt(nn, 0), in_cnt(nn, 0);
  std::vector<int> dst_node(nb);
  for (int b = 0; b < nb; ++b) dst_node[b] = g.DstNode(b);

  // Edges with an endpoint out go first; then count live edges per node.
  for (int f = 0; f < nf; ++f) {
    uint8_t* row = &c->edge_in[static_cast<size_t>(f) * nb];
    for (int b = 0; b < nb; ++b) {
      if (!row[b]) continue;
      if (!c->node_in[f] || !c->node_in[dst_node[b]] || f >= g.Prev(b)) {
        row[b] = 0;
        ++stats.edges_removed;
        continue;
      }
      ++out_cnt[f];
      ++in_cnt[dst_node[b]];
    }
  }
  const int logits = g.NodeLogits();
  auto dead = [&](int n) {
    if (!c->node_in[n]) return false;
    if (n != logits && out_cnt[n] == 0) return true;
    if (n != 0 && in_cnt[n] == 0) return true;
    return false;
  };
  std::vector<int> work;
  for (int n = 0; n < nn; ++n)
    if (dead(n)) work.push_back(n);
  while (!work.empty()) {
    const int n = work.back();
    work.pop_back();
    if (!dead(n)) continue;  // already removed via another path
    c->node_in[n] = 0;
    ++stats.nodes_removed;
    if (n != logits) {  // outgoing edges: row n
      uint8_t* row = &c->edge_in[static_cast<size_t>(n) * nb];
      for (int b = 0; b < nb; ++b) {
        if (!row[b]) continue;
        row[b] = 0;
        ++stats.edges_removed;
        const int d = dst_node[b];
        if (--in_cnt[d] == 0 && dead(d)) work.push_back(d);
      }
      out_cnt[n] = 0;
    }
    ForEachInColumn(g, n, [&](int b) {  // incoming edges
      const int prev = g.Prev(b);
      for (int f = 0; f < prev; ++f) {
        uint8_t& e = c->edge_in[static_cast<size_t>(f) * nb + b];
        if (!e) continue;
        e = 0;
        ++stats.edges_removed;
        if (--out_cnt[f] == 0 && dead(f)) work.push_back(f);
      }
    });
    in_cnt[n] = 0;
  }
  return stats;
}

}  // namespace fc::circuit
