// Helpers for the circuit tests: build circuits by edge name so expectations read like the spec.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/circuit/circuit.h"
#include "common/circuit/collapsed.h"
#include "common/circuit/graph.h"

namespace fc::circuit::testing {

inline Circuit EmptyCircuit(const GraphConfig& cfg) {
  auto c = MakeCircuit(EdgeScores(cfg));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

inline void SetScore(const GraphLayout& g, Circuit* c, const std::string& edge, float s) {
  int f = -1, b = -1;
  Status st = g.ParseEdgeName(edge, &f, &b);
  ASSERT_TRUE(st.ok()) << st.ToString();
  c->scores.at(f, b) = s;
}

inline void SetIn(const GraphLayout& g, Circuit* c, const std::string& edge) {
  int f = -1, b = -1;
  ASSERT_TRUE(g.ParseEdgeName(edge, &f, &b).ok()) << edge;
  c->edge_in[static_cast<size_t>(f) * g.n_backward() + b] = 1;
}

inline std::set<std::string> InEdges(const GraphLayout& g, const Circuit& c) {
  std::set<std::string> out;
  for (auto [f, b] : g.EdgeOrder())
    if (c.edge(f, b)) out.insert(g.EdgeName(f, b));
  return out;
}

inline std::set<std::string> InNodes(const GraphLayout& g, const std::vector<uint8_t>& node_in) {
  std::set<std::string> out;
  for (int n = 0; n < g.n_nodes(); ++n)
    if (node_in[n]) out.insert(g.NodeName(n));
  return out;
}

inline void SetCollapsed(const GraphLayout& g, CollapsedCircuit* c, const std::string& edge,
                         double s) {
  int f = -1, col = -1;
  Status st = g.ParseCollapsedEdgeName(edge, &f, &col);
  ASSERT_TRUE(st.ok()) << st.ToString();
  c->Set(f, col, s);
}

inline std::set<std::string> CollapsedEdges(const GraphLayout& g, const CollapsedCircuit& c) {
  std::set<std::string> out;
  for (auto [f, col] : g.CollapsedEdgeOrder())
    if (c.edge(f, col)) out.insert(g.CollapsedEdgeName(f, col));
  return out;
}

}  // namespace fc::circuit::testing
