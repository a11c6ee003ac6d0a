#include "common/circuit/selection.h"

#include <chrono>
#include <random>

#include <gtest/gtest.h>

#include "common/circuit/prune.h"
#include "tests/common/circuit/test_util.h"

namespace fc::circuit {
namespace {

using testing::EmptyCircuit;
using testing::InEdges;
using testing::InNodes;
using testing::SetIn;
using testing::SetScore;
using Names = std::set<std::string>;

// L=2, H=1, parallel: input, a0.h0, m0, a1.h0, m1, logits; 21 edges.
const GraphConfig kTiny{2, 1, true};

Circuit TinyScored(const GraphLayout& g) {
  Circuit c = EmptyCircuit(kTiny);
  SetScore(g, &c, "m0->logits", 5.0f);
  SetScore(g, &c, "a0.h0->a1.h0<k>", -4.0f);
  SetScore(g, &c, "input->a0.h0<q>", 3.0f);
  SetScore(g, &c, "input->m1", 2.5f);
  SetScore(g, &c, "a1.h0->logits", 1.0f);
  SetScore(g, &c, "input->m0", 0.5f);
  return c;
}

TEST(SelectTopN, PruningCascadesToAnEmptyCircuitWhenNothingReachesLogits) {
  GraphLayout g(kTiny);
  Circuit c = TinyScored(g);
  ASSERT_TRUE(SelectTopN(g, 3, /*absolute=*/true, /*prune=*/false, &c).ok());
  EXPECT_EQ(InEdges(g, c), (Names{"m0->logits", "a0.h0->a1.h0<k>", "input->a0.h0<q>"}));
  EXPECT_EQ(InNodes(g, c.node_in), (Names{"input", "a0.h0", "m0", "a1.h0", "logits"}));
  // m0 has no parent edge, a1.h0 no child edge: the fixpoint removes everything.
  PruneStats st = Prune(g, &c);
  EXPECT_EQ(c.CountEdges(), 0);
  EXPECT_EQ(c.CountNodes(), 0);
  EXPECT_EQ(st.edges_removed, 3);
  EXPECT_EQ(st.nodes_removed, 5);
}

TEST(SelectTopN, KeepsLivePathsAndDropsDeadEndMlp) {
  GraphLayout g(kTiny);
  Circuit c = TinyScored(g);
  ASSERT_TRUE(SelectTopN(g, 6, true, true, &c).ok());
  // input->m1 is in the top 6 but m1 has no child edge: pruned with its edge.
  EXPECT_EQ(InEdges(g, c), (Names{"input->m0", "m0->logits", "input->a0.h0<q>", "a0.h0->a1.h0<k>",
                                  "a1.h0->logits"}));
  EXPECT_EQ(InNodes(g, c.node_in), (Names{"input", "a0.h0", "m0", "a1.h0", "logits"}));
}

TEST(SelectTopN, SignedRankingPrefersPositiveScores) {
  GraphLayout g(kTiny);
  Circuit c = TinyScored(g);
  ASSERT_TRUE(SelectTopN(g, 3, /*absolute=*/false, false, &c).ok());
  // -4 drops to the bottom; 5, 3, 2.5 win.
  EXPECT_EQ(InEdges(g, c), (Names{"m0->logits", "input->a0.h0<q>", "input->m1"}));
}

TEST(SelectTopN, TiesAreBrokenByEdgeInsertionOrder) {
  GraphLayout g(kTiny);
  Circuit c = EmptyCircuit(kTiny);
  // Equal |score| everywhere; the winners must be the first edges of algorithms.md 2.2's loop.
  for (auto [f, b] : g.EdgeOrder()) c.scores.at(f, b) = (f + b) % 2 ? 1.0f : -1.0f;
  ASSERT_TRUE(SelectTopN(g, 4, true, false, &c).ok());
  EXPECT_EQ(InEdges(g, c),
            (Names{"input->a0.h0<q>", "input->a0.h0<k>", "input->a0.h0<v>", "input->m0"}));
  // The last edges in insertion order are logits edges; a top-(|E|-3) drops exactly those.
  ASSERT_TRUE(SelectTopN(g, g.n_edges() - 3, true, false, &c).ok());
  EXPECT_EQ(c.CountEdges(), g.n_edges() - 3);
  EXPECT_FALSE(c.edge(g.ForwardHead(1, 0), g.BackwardLogits()));
  EXPECT_FALSE(c.edge(g.ForwardMlp(1), g.BackwardLogits()));
  EXPECT_FALSE(c.edge(g.ForwardMlp(0), g.BackwardLogits()));
  EXPECT_TRUE(c.edge(g.ForwardHead(0, 0), g.BackwardLogits()));
}

TEST(SelectTopN, PercentUsesIntOfFractionTimesAllEdges) {
  GraphLayout pythia(GraphConfig{24, 16, true});
  EXPECT_EQ(TopPercentCount(pythia, 0.05), 11574);
  GraphLayout gpt2(GraphConfig{12, 12, false});
  EXPECT_EQ(TopPercentCount(gpt2, 0.05), 1624);
  GraphLayout g(kTiny);
  Circuit c = TinyScored(g);
  Selection sel;
  sel.kind = Selection::Kind::kTopPercent;
  sel.value = 0.30;  // int(0.3 * 21) = 6
  sel.prune = false;
  ASSERT_TRUE(Select(g, sel, &c).ok());
  EXPECT_EQ(c.CountEdges(), 6);
}

TEST(SelectTopN, RejectsOutOfRangeCounts) {
  GraphLayout g(kTiny);
  Circuit c = TinyScored(g);
  Status s = SelectTopN(g, 22, true, true, &c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("21"), std::string::npos);
  EXPECT_FALSE(SelectTopN(g, -1, true, true, &c).ok());
}

TEST(SelectThreshold, AbsoluteAndSignedThresholds) {
  GraphLayout g(kTiny);
  Circuit c = TinyScored(g);
  ASSERT_TRUE(SelectThreshold(g, 3.0, true, false, &c).ok());
  EXPECT_EQ(InEdges(g, c), (Names{"m0->logits", "a0.h0->a1.h0<k>", "input->a0.h0<q>"}));
  ASSERT_TRUE(SelectThreshold(g, 1.0, false, false, &c).ok());
  EXPECT_EQ(InEdges(g, c),
            (Names{"m0->logits", "input->a0.h0<q>", "input->m1", "a1.h0->logits"}));
  ASSERT_TRUE(SelectThreshold(g, 1.0, false, true, &c).ok());  // input->m1 dead end, pruned
  EXPECT_EQ(InEdges(g, c), (Names{}));  // m0 has no parent, a0.h0 reaches nothing in-graph
}

TEST(SelectGreedy, GrowsFromLogitsAndIgnoresUnreachableHighScores) {
  GraphLayout g(kTiny);
  Circuit c = EmptyCircuit(kTiny);
  SetScore(g, &c, "a1.h0->logits", 1.0f);
  SetScore(g, &c, "m0->logits", 0.1f);
  SetScore(g, &c, "a0.h0->a1.h0<q>", -10.0f);
  SetScore(g, &c, "input->a1.h0<v>", 0.2f);
  SetScore(g, &c, "input->a0.h0<k>", 0.05f);
  SetScore(g, &c, "input->m1", 100.0f);  // m1 only reachable via m1->logits (score 0)
  ASSERT_TRUE(SelectGreedy(g, 3, true, /*prune=*/false, &c).ok());
  EXPECT_EQ(InEdges(g, c), (Names{"a1.h0->logits", "a0.h0->a1.h0<q>", "input->a1.h0<v>"}));
  // a0.h0 got no parent edge within the budget: pruning drops it.
  ASSERT_TRUE(SelectGreedy(g, 3, true, true, &c).ok());
  EXPECT_EQ(InEdges(g, c), (Names{"a1.h0->logits", "input->a1.h0<v>"}));
  EXPECT_EQ(InNodes(g, c.node_in), (Names{"input", "a1.h0", "logits"}));
  // Top-n, by contrast, takes the unreachable edge first.
  ASSERT_TRUE(SelectTopN(g, 1, true, false, &c).ok());
  EXPECT_EQ(InEdges(g, c), (Names{"input->m1"}));
}

TEST(Prune, RemovesEdgesWhoseEndpointsAreOutAndKeepsConsistentCircuit) {
  GraphLayout g(kTiny);
  Circuit c = EmptyCircuit(kTiny);
  for (const char* e : {"input->a0.h0<q>", "a0.h0->a1.h0<v>", "a1.h0->logits", "input->m0"})
    SetIn(g, &c, e);
  SetNodesFromEdges(g, &c);
  c.node_in[g.ForwardMlp(0)] = 1;
  // m0 is in with a parent edge but no child edge -> out, with input->m0.
  Prune(g, &c);
  EXPECT_EQ(InEdges(g, c), (Names{"input->a0.h0<q>", "a0.h0->a1.h0<v>", "a1.h0->logits"}));
  EXPECT_EQ(InNodes(g, c.node_in), (Names{"input", "a0.h0", "a1.h0", "logits"}));
  // An edge whose endpoint flag is off goes, and the cascade follows.
  c.node_in[g.ForwardHead(0, 0)] = 0;
  Prune(g, &c);
  EXPECT_EQ(c.CountEdges(), 0);
  EXPECT_EQ(c.CountNodes(), 0);
}

TEST(Prune, IsIdempotent) {
  GraphLayout g(GraphConfig{4, 3, false});
  Circuit c = EmptyCircuit(g.config());
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  for (auto [f, b] : g.EdgeOrder()) c.scores.at(f, b) = nd(rng);
  ASSERT_TRUE(SelectTopN(g, 40, true, true, &c).ok());
  Circuit again = c;
  PruneStats st = Prune(g, &again);
  EXPECT_EQ(st.edges_removed, 0);
  EXPECT_EQ(st.nodes_removed, 0);
  EXPECT_EQ(again.edge_in, c.edge_in);
  // Every in-graph edge has both endpoints in.
  for (auto [f, b] : g.EdgeOrder())
    if (c.edge(f, b)) {
      EXPECT_TRUE(c.node_in[f] && c.node_in[g.DstNode(b)]);
    }
}

TEST(SelectionSpec, ParsesAndPrintsEveryKind) {
  auto s = Selection::Parse("top:5%");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, Selection::Kind::kTopPercent);
  EXPECT_EQ(s->value, 0.05);
  EXPECT_TRUE(s->absolute);
  s = Selection::Parse("top:11574,signed,noprune");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, Selection::Kind::kTopN);
  EXPECT_EQ(s->value, 11574);
  EXPECT_FALSE(s->absolute);
  EXPECT_FALSE(s->prune);
  EXPECT_EQ(s->ToString(), "top:11574,signed,noprune");
  s = Selection::Parse("threshold:1e-6");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, Selection::Kind::kThreshold);
  EXPECT_EQ(s->value, 1e-6);
  s = Selection::Parse("greedy:200");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, Selection::Kind::kGreedy);
  for (const char* bad : {"top", "top:x", "top:5.5", "best:3", "greedy:3%", "top:5%,wat", "top:150%"}) {
    auto r = Selection::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
    }
  }
}

TEST(SelectTopN, Pythia14bTopFivePercentAndPruneIsFast) {
  GraphLayout g(GraphConfig{24, 16, true});
  Circuit c = EmptyCircuit(g.config());
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (auto [f, b] : g.EdgeOrder()) c.scores.at(f, b) = nd(rng) * 1e-6f;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(SelectTopN(g, TopPercentCount(g, 0.05), true, true, &c).ok());
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const int64_t pruned = c.CountEdges();
  EXPECT_GT(pruned, 0);
  ASSERT_TRUE(SelectTopN(g, TopPercentCount(g, 0.05), true, false, &c).ok());
  EXPECT_EQ(c.CountEdges(), 11574);
  EXPECT_LT(pruned, 11574);  // random scores leave dead ends
  // Spec: "well under 100 ms"; a loose bound here (CI may be loaded), bench/circuit measures.
  EXPECT_LT(ms, 500.0);
}

}  // namespace
}  // namespace fc::circuit
