// A collapsed circuit: q/k/v destinations of a head merged into one (algorithms.md 4.4).
//
// This is the form every paper analysis uses (tracking, diff, merge, CircuitLoRA, robustness)
// and the "collapsed" JSON dialect stores: all node flags, but only in-graph edges. Dense arrays
// [n_forward x n_collapsed_backward] in the collapsed index layout of graph.h; scores are double
// because they are sums (the original sums Python floats). Plain value type.
#pragma once

#include <cstdint>
#include <vector>

#include "common/circuit/circuit.h"
#include "common/circuit/graph.h"
#include "common/status.h"

namespace fc::circuit {

struct CollapsedCircuit {
  GraphConfig cfg;
  std::vector<uint8_t> node_in;   // [n_nodes]
  std::vector<uint8_t> edge_in;   // [n_forward * n_collapsed_backward]
  std::vector<double> scores;     // same shape; 0 where !edge_in
  std::vector<float> node_scores; // optional [EAP-new] node scores: empty or [n_nodes]

  int n_cols() const { return 1 + cfg.n_layers * (cfg.n_heads + 1); }
  size_t Index(int f, int c) const { return static_cast<size_t>(f) * n_cols() + c; }
  bool edge(int f, int c) const { return edge_in[Index(f, c)] != 0; }
  double score(int f, int c) const { return scores[Index(f, c)]; }
  void Set(int f, int c, double s) {
    edge_in[Index(f, c)] = 1;
    scores[Index(f, c)] = s;
  }
  int64_t CountEdges() const;
  int64_t CountNodes() const;
};

// Checks the config and that every array has the size its config implies.
Status ValidateCollapsed(const CollapsedCircuit& c);

// No nodes, no edges; arrays sized for cfg (which must be valid).
CollapsedCircuit MakeEmptyCollapsed(const GraphConfig& cfg);

// FC collapse_qkv.py: keep only in-graph edges, merge src->aL.hH<q|k|v> into src->aL.hH with
// the SUM of the signed scores; node flags (and node scores) copied unchanged.
StatusOr<CollapsedCircuit> Collapse(const GraphLayout& g, const Circuit& c);

// Node flags derived from edges: a node is in iff it touches an in-graph edge; input and logits
// are kept in when `keep_input_logits` (the union-merge rule of algorithms.md 9).
void SetCollapsedNodesFromEdges(const GraphLayout& g, bool keep_input_logits, CollapsedCircuit* c);

}  // namespace fc::circuit
