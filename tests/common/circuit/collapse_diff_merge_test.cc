#include <cmath>

#include <gtest/gtest.h>

#include "common/circuit/collapsed.h"
#include "common/circuit/diff.h"
#include "common/circuit/dot_format.h"
#include "common/circuit/merge.h"
#include "common/circuit/robustness.h"
#include "common/circuit/tracking.h"
#include "tests/common/circuit/test_util.h"

namespace fc::circuit {
namespace {

using testing::CollapsedEdges;
using testing::EmptyCircuit;
using testing::InNodes;
using testing::SetCollapsed;
using testing::SetIn;
using testing::SetScore;
using Names = std::set<std::string>;

void SetNodes(const GraphLayout& g, CollapsedCircuit* c, const Names& names) {
  c->node_in.assign(g.n_nodes(), 0);
  for (const std::string& n : names) {
    const int i = g.ParseNodeName(n);
    ASSERT_GE(i, 0) << n;
    c->node_in[i] = 1;
  }
}

TEST(Collapse, SumsSignedQkvScoresOfInGraphEdgesOnly) {
  GraphConfig cfg{2, 1, true};
  GraphLayout g(cfg);
  Circuit c = EmptyCircuit(cfg);
  SetScore(g, &c, "input->a1.h0<q>", 1.0f);
  SetScore(g, &c, "input->a1.h0<k>", 2.0f);
  SetScore(g, &c, "input->a1.h0<v>", -0.5f);
  SetScore(g, &c, "a0.h0->a1.h0<k>", 0.25f);
  SetScore(g, &c, "a0.h0->a1.h0<q>", 7.0f);  // not in graph: must not contribute
  SetScore(g, &c, "a1.h0->logits", 0.125f);
  for (const char* e : {"input->a1.h0<q>", "input->a1.h0<k>", "input->a1.h0<v>", "a0.h0->a1.h0<k>",
                        "a1.h0->logits"})
    SetIn(g, &c, e);
  c.node_in[g.ForwardMlp(1)] = 1;  // node dict is copied unchanged, even if inconsistent
  auto col = Collapse(g, c);
  ASSERT_TRUE(col.ok());
  EXPECT_EQ(CollapsedEdges(g, *col), (Names{"input->a1.h0", "a0.h0->a1.h0", "a1.h0->logits"}));
  EXPECT_EQ(col->score(0, g.CollapsedHead(1, 0)), 2.5);
  EXPECT_EQ(col->score(g.ForwardHead(0, 0), g.CollapsedHead(1, 0)), 0.25);
  EXPECT_EQ(col->score(g.ForwardHead(1, 0), g.CollapsedLogits()), 0.125);
  EXPECT_EQ(col->node_in, c.node_in);
}

// L=2, H=2, parallel. Before/after designed so every statistic is distinct (see comments).
struct DiffFixture {
  GraphLayout g{GraphConfig{2, 2, true}};
  CollapsedCircuit before = MakeEmptyCollapsed(g.config());
  CollapsedCircuit after = MakeEmptyCollapsed(g.config());
  DiffFixture() {
    for (const char* e : {"input->a0.h0", "a0.h0->a1.h1", "a1.h1->logits", "input->m0", "m0->logits"})
      SetCollapsed(g, &before, e, 1.0);
    SetNodes(g, &before, {"input", "a0.h0", "a1.h1", "m0", "logits"});
    for (const char* e : {"input->a0.h0", "a0.h0->a1.h1", "a1.h1->logits",  // common
                          "input->a0.h1", "a0.h1->logits", "a0.h0->logits", "a0.h0->a1.h0",
                          "a1.h0->logits"})
      SetCollapsed(g, &after, e, 1.0);
    SetNodes(g, &after, {"input", "a0.h0", "a0.h1", "a1.h0", "a1.h1", "logits"});
  }
};

TEST(CircuitDiffTest, CountsAddedRemovedPerSourceLayerAndJaccards) {
  DiffFixture fx;
  auto d = DiffCircuits(fx.before, fx.after);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(InNodes(fx.g, fx.after.node_in).size(), 6u);
  std::vector<std::string> added, removed;
  for (int n : d->nodes_added) added.push_back(fx.g.NodeName(n));
  for (int n : d->nodes_removed) removed.push_back(fx.g.NodeName(n));
  EXPECT_EQ(added, (std::vector<std::string>{"a0.h1", "a1.h0"}));
  EXPECT_EQ(removed, (std::vector<std::string>{"m0"}));
  EXPECT_EQ(d->nodes_added_per_layer, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(d->nodes_removed_per_layer, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(d->edges_added.size(), 5u);
  EXPECT_EQ(d->edges_removed.size(), 2u);
  EXPECT_EQ(d->edges_added_per_layer, (std::vector<int64_t>{4, 1}));   // by source
  EXPECT_EQ(d->edges_removed_per_layer, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(d->edge_changes(), 7);
  EXPECT_EQ(d->node_changes(), 3);
  EXPECT_DOUBLE_EQ(d->node_jaccard, 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(d->edge_jaccard, 3.0 / 10.0);
  // Only a0.h0->logits joins two unchanged nodes.
  EXPECT_EQ(d->node_induced_edge_changes, 6);
  EXPECT_EQ(d->other_edge_changes, 1);
  EXPECT_EQ(d->ft_edge_original, 5);  // the original ft_edge misses the 2 removals
  EXPECT_EQ(d->edges_before, 5);
  EXPECT_EQ(d->edges_after, 8);
}

TEST(CircuitDiffTest, DestinationLayerOptionChargesLogitsToLastLayer) {
  DiffFixture fx;
  auto d = DiffCircuits(fx.before, fx.after, EdgeLayerBy::kDestination);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->edges_added_per_layer, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(d->edges_removed_per_layer, (std::vector<int64_t>{1, 1}));
}

TEST(CircuitDiffTest, ShapeMismatchIsAnError) {
  CollapsedCircuit a = MakeEmptyCollapsed(GraphConfig{2, 2, true});
  CollapsedCircuit b = MakeEmptyCollapsed(GraphConfig{2, 2, false});
  auto d = DiffCircuits(a, b);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("parallel"), std::string::npos);
  auto same = DiffCircuits(a, a);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->edge_jaccard, 1.0);  // both empty
}

TEST(PercentileFilterTest, KeepsEdgesAtOrAboveNumpyLinearPercentile) {
  GraphLayout g(GraphConfig{2, 2, true});
  CollapsedCircuit c = MakeEmptyCollapsed(g.config());
  auto order = g.CollapsedEdgeOrder();
  ASSERT_GE(order.size(), 20u);
  for (int i = 0; i < 20; ++i) c.Set(order[i].first, order[i].second, (i % 2 ? -1 : 1) * (i + 1.0));
  // |s| = 1..20: p95 -> rank 18.05 -> 19.05; p90 -> 18.1.
  EXPECT_DOUBLE_EQ(AbsScorePercentile(c, 95), 19.05);
  EXPECT_DOUBLE_EQ(AbsScorePercentile(c, 90), 18.1);
  auto f95 = PercentileFilter(c, 95);
  ASSERT_TRUE(f95.ok());
  EXPECT_EQ(f95->CountEdges(), 1);
  EXPECT_TRUE(f95->edge(order[19].first, order[19].second));
  EXPECT_EQ(f95->CountNodes(), 2);  // its two endpoints
  auto f90 = PercentileFilter(c, 90);
  ASSERT_TRUE(f90.ok());
  EXPECT_EQ(f90->CountEdges(), 2);
  EXPECT_FALSE(PercentileFilter(c, 101).ok());
}

// algorithms.md 9 merge rules on a hand-made pair (L=1, H=2, parallel).
struct MergeFixture {
  GraphLayout g{GraphConfig{1, 2, true}};
  CollapsedCircuit a = MakeEmptyCollapsed(g.config());
  CollapsedCircuit b = MakeEmptyCollapsed(g.config());
  MergeFixture() {
    SetCollapsed(g, &a, "input->a0.h0", 1.0);
    SetCollapsed(g, &a, "a0.h0->logits", -3.0);
    SetCollapsed(g, &a, "input->logits", 0.5);
    SetNodes(g, &a, {"input", "a0.h0", "m0", "logits"});  // m0 flagged but touched by no edge
    SetCollapsed(g, &b, "input->a0.h0", 3.0);
    SetCollapsed(g, &b, "input->a0.h1", -2.0);
    SetCollapsed(g, &b, "a0.h1->logits", 2.0);
    SetNodes(g, &b, {"input", "a0.h1", "logits"});
  }
  double S(const CollapsedCircuit& c, const std::string& e) {
    int f, col;
    EXPECT_TRUE(g.ParseCollapsedEdgeName(e, &f, &col).ok());
    return c.score(f, col);
  }
};

TEST(Merge, UnionAveragesCommonEdgesAndDropsUntouchedNodes) {
  MergeFixture fx;
  auto m = MergeCollapsed(fx.a, fx.b);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(CollapsedEdges(fx.g, *m), (Names{"input->a0.h0", "a0.h0->logits", "input->logits",
                                             "input->a0.h1", "a0.h1->logits"}));
  EXPECT_EQ(fx.S(*m, "input->a0.h0"), 2.0);
  EXPECT_EQ(fx.S(*m, "a0.h0->logits"), -3.0);
  EXPECT_EQ(fx.S(*m, "input->a0.h1"), -2.0);
  EXPECT_EQ(InNodes(fx.g, m->node_in), (Names{"input", "a0.h0", "a0.h1", "logits"}));
  // Order of arguments does not matter.
  auto m2 = MergeCollapsed(fx.b, fx.a);
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->scores, m->scores);
  EXPECT_EQ(m2->node_in, m->node_in);
}

TEST(Merge, MaxAndMinAreSignedAndKeepingUntouchedNodesIsAnOption) {
  MergeFixture fx;
  MergeOptions opt;
  opt.score = MergeScore::kMax;
  opt.drop_untouched_nodes = false;
  auto mx = MergeCollapsed(fx.a, fx.b, opt);
  ASSERT_TRUE(mx.ok());
  EXPECT_EQ(fx.S(*mx, "input->a0.h0"), 3.0);
  EXPECT_TRUE(mx->node_in[fx.g.ForwardMlp(0)]);
  opt.score = MergeScore::kMin;
  auto mn = MergeCollapsed(fx.a, fx.b, opt);
  ASSERT_TRUE(mn.ok());
  EXPECT_EQ(fx.S(*mn, "input->a0.h0"), 1.0);
}

TEST(Merge, TargetEdgeCountKeepsLargestAbsScoresTiesByEdgeName) {
  MergeFixture fx;
  MergeOptions opt;
  opt.target_edges = 3;
  auto m = MergeCollapsed(fx.a, fx.b, opt);
  ASSERT_TRUE(m.ok());
  // |s|: 3 (a0.h0->logits), then a three-way tie at 2 broken by name:
  // "a0.h1->logits" < "input->a0.h0" < "input->a0.h1".
  EXPECT_EQ(CollapsedEdges(fx.g, *m), (Names{"a0.h0->logits", "a0.h1->logits", "input->a0.h0"}));
  opt.target_edges = 1;
  m = MergeCollapsed(fx.a, fx.b, opt);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(CollapsedEdges(fx.g, *m), (Names{"a0.h0->logits"}));
  // a0.h1 lost its edges; input has none but is always kept.
  EXPECT_EQ(InNodes(fx.g, m->node_in), (Names{"input", "a0.h0", "logits"}));
  opt.target_edges = 10;  // fewer edges than the target: nothing trimmed
  m = MergeCollapsed(fx.a, fx.b, opt);
  EXPECT_EQ(m->CountEdges(), 5);
  opt.target_edges = 0;  // 0 = no target
  m = MergeCollapsed(fx.a, fx.b, opt);
  EXPECT_EQ(m->CountEdges(), 5);
}

TEST(Merge, IntersectionKeepsCommonEdgesAndNodesOnly) {
  MergeFixture fx;
  MergeOptions opt;
  opt.mode = MergeMode::kIntersection;
  auto m = MergeCollapsed(fx.a, fx.b, opt);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(CollapsedEdges(fx.g, *m), (Names{"input->a0.h0"}));
  EXPECT_EQ(fx.S(*m, "input->a0.h0"), 2.0);
  // a0.h0 is flagged only in A, so the node intersection leaves it out (as the original).
  EXPECT_EQ(InNodes(fx.g, m->node_in), (Names{"input", "logits"}));
}

TEST(Merge, ParsersAndShapeErrors) {
  EXPECT_EQ(*ParseMergeMode("union"), MergeMode::kUnion);
  EXPECT_EQ(*ParseMergeScore("min"), MergeScore::kMin);
  auto bad = ParseMergeScore("mean");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("mean"), std::string::npos);
  auto r = MergeCollapsed(MakeEmptyCollapsed(GraphConfig{1, 2, true}),
                          MakeEmptyCollapsed(GraphConfig{2, 2, true}));
  EXPECT_FALSE(r.ok());
}

TEST(Robustness, MeanPairwiseEdgeJaccardOverAllPairs) {
  GraphLayout g(GraphConfig{1, 2, true});
  std::vector<CollapsedCircuit> cs(3, MakeEmptyCollapsed(g.config()));
  for (const char* e : {"input->a0.h0", "a0.h0->logits", "input->logits"}) SetCollapsed(g, &cs[0], e, 1);
  for (const char* e : {"input->a0.h0", "a0.h0->logits", "m0->logits"}) SetCollapsed(g, &cs[1], e, 1);
  SetCollapsed(g, &cs[2], "input->a0.h0", 1);
  auto r = ComputePairwiseJaccard(cs);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->matrix[0][1], 0.5);
  EXPECT_DOUBLE_EQ(r->matrix[0][2], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(r->matrix[2][1], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(r->mean, 7.0 / 18.0);
  EXPECT_DOUBLE_EQ(r->min, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(r->max, 0.5);
  EXPECT_FALSE(ComputePairwiseJaccard({cs[0]}).ok());
}

TEST(Dot, DrawsInGraphNodesByLayerWithSignColorsAndScaledWidths) {
  GraphLayout g(GraphConfig{2, 2, true});
  CollapsedCircuit c = MakeEmptyCollapsed(g.config());
  SetCollapsed(g, &c, "input->a1.h0", 4.0);
  SetCollapsed(g, &c, "a1.h0->logits", -2.0);
  SetNodes(g, &c, {"input", "a1.h0", "logits"});
  DotOptions opt;
  const std::string dot = CollapsedToDot(c, opt);
  EXPECT_NE(dot.find("digraph \"circuit\""), std::string::npos);
  EXPECT_NE(dot.find("subgraph layer_1 { rank=same;"), std::string::npos);
  EXPECT_EQ(dot.find("layer_0"), std::string::npos);  // no in-graph node in layer 0
  EXPECT_EQ(dot.find("\"a0.h0\""), std::string::npos);
  EXPECT_NE(dot.find("\"input\" -> \"a1.h0\" [color=\"#1f77b4\", penwidth=6.000"), std::string::npos)
      << dot;
  // |-2| / 4 -> 0.5 + 5.5 * 0.5 = 3.25, red.
  EXPECT_NE(dot.find("\"a1.h0\" -> \"logits\" [color=\"#d62728\", penwidth=3.250"), std::string::npos)
      << dot;
  // Full circuits label the q/k/v input.
  Circuit full = EmptyCircuit(g.config());
  SetScore(g, &full, "input->a1.h0<k>", 1.0f);
  SetIn(g, &full, "input->a1.h0<k>");
  EXPECT_NE(CircuitToDot(full).find("label=\"k\""), std::string::npos);
}

}  // namespace
}  // namespace fc::circuit

namespace fc::circuit {
namespace {

TEST(Tracking, RowsPerCheckpointWithChangesVsPreviousAndBase) {
  GraphLayout g(GraphConfig{1, 2, true});
  std::vector<std::pair<int64_t, CollapsedCircuit>> steps;
  CollapsedCircuit c0 = MakeEmptyCollapsed(g.config());
  testing::SetCollapsed(g, &c0, "input->a0.h0", 1);
  testing::SetCollapsed(g, &c0, "a0.h0->logits", 1);
  SetCollapsedNodesFromEdges(g, true, &c0);
  CollapsedCircuit c25 = c0;
  testing::SetCollapsed(g, &c25, "input->logits", 1);  // +1 edge
  CollapsedCircuit c50 = MakeEmptyCollapsed(g.config());
  testing::SetCollapsed(g, &c50, "input->a0.h1", 1);
  testing::SetCollapsed(g, &c50, "a0.h1->logits", 1);
  SetCollapsedNodesFromEdges(g, true, &c50);
  steps.emplace_back(0, c0);
  steps.emplace_back(25, c25);
  steps.emplace_back(50, c50);
  auto t = TrackCircuits(steps);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].edges, 2);
  EXPECT_EQ((*t)[0].edges_added, 0);
  EXPECT_EQ((*t)[1].edges_added, 1);
  EXPECT_EQ((*t)[1].edges_removed, 0);
  EXPECT_DOUBLE_EQ((*t)[1].edge_jaccard_prev, 2.0 / 3.0);
  // 25 -> 50: a0.h0 swapped for a0.h1; all 3 old edges out, 2 new in.
  EXPECT_EQ((*t)[2].edges_added, 2);
  EXPECT_EQ((*t)[2].edges_removed, 3);
  EXPECT_EQ((*t)[2].ft_edge_original, 2);
  EXPECT_EQ((*t)[2].nodes_added, 1);
  EXPECT_EQ((*t)[2].nodes_removed, 1);
  EXPECT_EQ((*t)[2].node_induced_edge_changes, 4);  // input->logits joins unchanged nodes
  EXPECT_DOUBLE_EQ((*t)[2].edge_jaccard_base, 0.0);
  EXPECT_DOUBLE_EQ((*t)[2].node_jaccard_base, 2.0 / 4.0);
  std::swap(steps[1].first, steps[2].first);
  EXPECT_FALSE(TrackCircuits(steps).ok());
}

TEST(Tracking, CheckpointStepFromFileNames) {
  EXPECT_EQ(CheckpointStep("graph_simplemath_1.4b_lora_checkpoint_250.json"), 250);
  EXPECT_EQ(CheckpointStep("run/checkpoint-500"), 500);
  EXPECT_EQ(CheckpointStep("checkpoint_0.json"), 0);
  EXPECT_EQ(CheckpointStep("graph_epoch4.json"), std::nullopt);
  EXPECT_EQ(CheckpointStep("checkpoint_.json"), std::nullopt);
}

}  // namespace
}  // namespace fc::circuit

namespace fc::circuit {
namespace {

TEST(Merge, NWayAveragesOverTheCircuitsHoldingAnEdge) {
  GraphLayout g(GraphConfig{1, 2, true});
  std::vector<CollapsedCircuit> cs(3, MakeEmptyCollapsed(g.config()));
  testing::SetCollapsed(g, &cs[0], "input->a0.h0", 1.0);
  testing::SetCollapsed(g, &cs[1], "input->a0.h0", 2.0);
  testing::SetCollapsed(g, &cs[2], "input->a0.h0", 6.0);
  testing::SetCollapsed(g, &cs[0], "a0.h0->logits", -1.0);
  testing::SetCollapsed(g, &cs[2], "a0.h0->logits", -4.0);
  testing::SetCollapsed(g, &cs[1], "m0->logits", 0.5);
  for (auto& c : cs) SetCollapsedNodesFromEdges(g, false, &c);
  auto m = MergeCollapsed({&cs[0], &cs[1], &cs[2]});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->score(0, g.CollapsedHead(0, 0)), 3.0);                     // (1 + 2 + 6) / 3
  EXPECT_EQ(m->score(g.ForwardHead(0, 0), g.CollapsedLogits()), -2.5);    // in 2 of 3
  EXPECT_EQ(m->score(g.ForwardMlp(0), g.CollapsedLogits()), 0.5);
  MergeOptions inter;
  inter.mode = MergeMode::kIntersection;
  m = MergeCollapsed({&cs[0], &cs[1], &cs[2]}, inter);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->CountEdges(), 1);
  EXPECT_FALSE(MergeCollapsed(std::vector<const CollapsedCircuit*>{}).ok());
}

}  // namespace
}  // namespace fc::circuit

namespace fc::circuit {
namespace {

TEST(Validation, MisSizedCircuitsAreRejectedNotReadOutOfBounds) {
  GraphConfig cfg{2, 2, true};
  CollapsedCircuit bad = MakeEmptyCollapsed(cfg);
  bad.edge_in.pop_back();
  EXPECT_FALSE(ValidateCollapsed(bad).ok());
  EXPECT_FALSE(DiffCircuits(bad, MakeEmptyCollapsed(cfg)).ok());
  EXPECT_FALSE(MergeCollapsed(bad, MakeEmptyCollapsed(cfg)).ok());
  EXPECT_FALSE(PercentileFilter(bad, 95).ok());
  Circuit c = testing::EmptyCircuit(cfg);
  c.node_in.resize(3);
  Status s = ValidateCircuit(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node_in"), std::string::npos);
  EXPECT_FALSE(Collapse(GraphLayout(cfg), c).ok());
}

}  // namespace
}  // namespace fc::circuit
