#include "common/circuit/graph.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fc::circuit {
namespace {

struct Row {
  const char* model;
  int L, H;
  bool parallel;
  int64_t nodes, edges, top5, collapsed;  // collapsed < 0: not listed in the table
};

// algorithms.md 2.3, verbatim.
const Row kTable[] = {
    {"gpt2-small", 12, 12, false, 158, 32491, 1624, 11611},
    {"pythia-160m", 12, 12, true, 158, 32347, 1617, -1},
    {"pythia-1.4b", 24, 16, true, 410, 231493, 11574, 80581},
    {"gpt-neo-2.7B", 32, 20, false, 674, 638641, 31932, -1},
    {"opt-6.7b", 32, 32, false, 1058, 1592881, 79644, -1},
    {"pythia-6.9b", 32, 32, true, 1058, 1591857, 79592, -1},
};

TEST(GraphCounts, ClosedFormsMatchTheSpecTable) {
  for (const Row& r : kTable) {
    GraphConfig cfg{r.L, r.H, r.parallel};
    GraphLayout g(cfg);
    EXPECT_EQ(ClosedFormNodes(cfg), r.nodes) << r.model;
    EXPECT_EQ(g.n_nodes(), r.nodes) << r.model;
    EXPECT_EQ(g.n_edges(), r.edges) << r.model;
    EXPECT_EQ(static_cast<int64_t>(0.05 * static_cast<double>(g.n_edges())), r.top5) << r.model;
    if (r.collapsed >= 0) {
      EXPECT_EQ(g.n_collapsed_edges(), r.collapsed) << r.model;
    }
  }
}

// Counting the real-edge mask f < Prev(b) must agree with the closed form for every size.
TEST(GraphCounts, RealEdgeMaskCountEqualsClosedFormForWholeTable) {
  for (const Row& r : kTable) {
    GraphLayout g(GraphConfig{r.L, r.H, r.parallel});
    int64_t n = 0;
    for (int b = 0; b < g.n_backward(); ++b) n += g.Prev(b);
    EXPECT_EQ(n, r.edges) << r.model;
    int64_t nc = 0;
    for (int c = 0; c < g.n_collapsed_backward(); ++c) nc += g.CollapsedPrev(c);
    EXPECT_EQ(nc, g.n_collapsed_edges()) << r.model;
  }
}

TEST(GraphCounts, EnumeratedEdgeOrderHasClosedFormSizeAndNoDuplicates) {
  for (bool parallel : {false, true}) {
    for (auto [L, H] : std::vector<std::pair<int, int>>{{1, 1}, {2, 3}, {12, 12}, {24, 16}}) {
      GraphLayout g(GraphConfig{L, H, parallel});
      auto order = g.EdgeOrder();
      ASSERT_EQ(static_cast<int64_t>(order.size()), g.n_edges());
      std::vector<char> seen(static_cast<size_t>(g.n_forward()) * g.n_backward(), 0);
      for (auto [f, b] : order) {
        ASSERT_TRUE(g.IsEdge(f, b)) << f << "," << b;
        char& s = seen[static_cast<size_t>(f) * g.n_backward() + b];
        ASSERT_EQ(s, 0) << g.EdgeName(f, b);
        s = 1;
      }
      auto corder = g.CollapsedEdgeOrder();
      ASSERT_EQ(static_cast<int64_t>(corder.size()), g.n_collapsed_edges());
      for (auto [f, c] : corder) ASSERT_TRUE(g.IsCollapsedEdge(f, c));
    }
  }
}

TEST(GraphLayout, Pythia14bDenseLayoutIs409By1177) {
  GraphLayout g(GraphConfig{24, 16, true});
  EXPECT_EQ(g.n_forward(), 409);
  EXPECT_EQ(g.n_backward(), 1177);
  EXPECT_EQ(g.ForwardHead(3, 1), 1 + 3 * 17 + 1);
  EXPECT_EQ(g.ForwardMlp(23), 408);
  EXPECT_EQ(g.BackwardHead(2, 5, Qkv::kK), 2 * 49 + 16 + 5);
  EXPECT_EQ(g.BackwardMlp(0), 48);
  EXPECT_EQ(g.BackwardLogits(), 1176);
  EXPECT_EQ(g.Prev(g.BackwardHead(1, 0, Qkv::kV)), 18);
  EXPECT_EQ(g.Prev(g.BackwardMlp(1)), 18);  // parallel: MLP 1 does not see heads of layer 1
  EXPECT_EQ(g.Prev(g.BackwardLogits()), 409);
  GraphLayout s(GraphConfig{24, 16, false});
  EXPECT_EQ(s.Prev(s.BackwardMlp(1)), 18 + 16);  // sequential: it does
}

TEST(GraphLayout, TinyParallelEdgeOrderIsExactlyTheSpecLoop) {
  GraphLayout g(GraphConfig{1, 1, true});
  std::vector<std::string> names;
  for (auto [f, b] : g.EdgeOrder()) names.push_back(g.EdgeName(f, b));
  EXPECT_EQ(names, (std::vector<std::string>{"input->a0.h0<q>", "input->a0.h0<k>",
                                             "input->a0.h0<v>", "input->m0", "input->logits",
                                             "a0.h0->logits", "m0->logits"}));
}

TEST(GraphLayout, TinySequentialEdgeOrderLetsMlpSeeSameLayerHeads) {
  GraphLayout g(GraphConfig{2, 2, false});
  auto order = g.EdgeOrder();
  std::vector<std::string> names;
  for (auto [f, b] : order) names.push_back(g.EdgeName(f, b));
  // Layer 0: input -> 6 q/k/v, then MLP 0 from input, a0.h0, a0.h1.
  std::vector<std::string> head(names.begin(), names.begin() + 9);
  EXPECT_EQ(head, (std::vector<std::string>{"input->a0.h0<q>", "input->a0.h0<k>", "input->a0.h0<v>",
                                            "input->a0.h1<q>", "input->a0.h1<k>", "input->a0.h1<v>",
                                            "input->m0", "a0.h0->m0", "a0.h1->m0"}));
  // Layer 1 heads: 4 upstream nodes x 6 = 24 edges, starting with input, then a0.h0.
  EXPECT_EQ(names[9], "input->a1.h0<q>");
  EXPECT_EQ(names[15], "a0.h0->a1.h0<q>");
  EXPECT_EQ(names[33], "input->m1");
  EXPECT_EQ(names.back(), "m1->logits");
  EXPECT_EQ(static_cast<int64_t>(names.size()), g.n_edges());
}

TEST(GraphLayout, InsertionIndexTableInvertsEdgeOrder) {
  GraphLayout g(GraphConfig{3, 4, true});
  auto order = g.EdgeOrder();
  auto table = g.InsertionIndexTable();
  int64_t marked = 0;
  for (int32_t v : table) marked += v >= 0;
  EXPECT_EQ(marked, g.n_edges());
  for (size_t i = 0; i < order.size(); ++i)
    EXPECT_EQ(table[static_cast<size_t>(order[i].first) * g.n_backward() + order[i].second],
              static_cast<int32_t>(i));
}

TEST(GraphNames, EveryForwardBackwardAndEdgeNameRoundTrips) {
  for (bool parallel : {false, true}) {
    GraphLayout g(GraphConfig{3, 12, parallel});
    std::set<std::string> unique;
    for (int n = 0; n < g.n_nodes(); ++n) {
      std::string name = g.NodeName(n);
      EXPECT_EQ(g.ParseNodeName(name), n) << name;
      unique.insert(name);
    }
    EXPECT_EQ(static_cast<int>(unique.size()), g.n_nodes());
    for (int b = 0; b < g.n_backward(); ++b) EXPECT_EQ(g.ParseBackwardName(g.BackwardName(b)), b);
    for (auto [f, b] : g.EdgeOrder()) {
      int f2 = -1, b2 = -1;
      ASSERT_TRUE(g.ParseEdgeName(g.EdgeName(f, b), &f2, &b2).ok());
      EXPECT_EQ(f2, f);
      EXPECT_EQ(b2, b);
    }
    for (auto [f, c] : g.CollapsedEdgeOrder()) {
      int f2 = -1, c2 = -1;
      ASSERT_TRUE(g.ParseCollapsedEdgeName(g.CollapsedEdgeName(f, c), &f2, &c2).ok());
      EXPECT_EQ(f2, f);
      EXPECT_EQ(c2, c);
    }
  }
}

TEST(GraphNames, SpellingMatchesEapIg) {
  GraphLayout g(GraphConfig{4, 2, true});
  EXPECT_EQ(g.ForwardName(0), "input");
  EXPECT_EQ(g.ForwardName(g.ForwardHead(3, 1)), "a3.h1");
  EXPECT_EQ(g.ForwardName(g.ForwardMlp(3)), "m3");
  EXPECT_EQ(g.BackwardName(g.BackwardHead(3, 1, Qkv::kQ)), "a3.h1<q>");
  EXPECT_EQ(g.BackwardName(g.BackwardHead(3, 1, Qkv::kV)), "a3.h1<v>");
  EXPECT_EQ(g.BackwardName(g.BackwardLogits()), "logits");
  EXPECT_EQ(g.EdgeName(g.ForwardHead(0, 1), g.BackwardHead(3, 1, Qkv::kQ)), "a0.h1->a3.h1<q>");
  EXPECT_EQ(g.CollapsedEdgeName(g.ForwardHead(0, 1), g.CollapsedHead(3, 1)), "a0.h1->a3.h1");
}

TEST(GraphNames, MalformedOrOutOfRangeNamesAreRejectedWithTheName) {
  GraphLayout g(GraphConfig{4, 2, true});
  for (const char* bad : {"a4.h0", "a0.h2", "m4", "a01.h0", "a-1.h0", "x", "", "a0h0", "m", "logits"})
    EXPECT_EQ(g.ParseForwardName(bad), -1) << bad;
  EXPECT_EQ(g.ParseBackwardName("a0.h0"), -1);       // head destination needs a suffix
  EXPECT_EQ(g.ParseBackwardName("a0.h0<x>"), -1);
  EXPECT_EQ(g.ParseBackwardName("input"), -1);
  EXPECT_EQ(g.ParseBackwardName("m0<q>"), -1);
  int f, b;
  Status s = g.ParseEdgeName("a2.h0->a1.h0<q>", &f, &b);  // downstream source
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("a2.h0->a1.h0<q>"), std::string::npos);
  s = g.ParseEdgeName("a0.h0->m0", &f, &b);  // parallel: same-layer head does not feed MLP
  EXPECT_FALSE(s.ok());
  s = g.ParseEdgeName("a0.h0-a1.h0<q>", &f, &b);
  EXPECT_NE(s.message().find("->"), std::string::npos);
  s = g.ParseEdgeName("a9.h0->logits", &f, &b);
  EXPECT_NE(s.message().find("a9.h0"), std::string::npos);
  EXPECT_TRUE(g.ParseEdgeName("a0.h0->m1", &f, &b).ok());
}

TEST(GraphConfigCheck, InvalidConfigsAreRejected) {
  EXPECT_FALSE(GraphLayout::Create(GraphConfig{0, 4, true}).ok());
  EXPECT_FALSE(GraphLayout::Create(GraphConfig{4, 0, true}).ok());
  Status s = GraphLayout::Create(GraphConfig{4, -1, true}).status();
  EXPECT_NE(s.message().find("n_heads"), std::string::npos);
  EXPECT_TRUE(GraphLayout::Create(GraphConfig{24, 16, true}).ok());
}

TEST(EdgeScoresTest, DenseShapeAndAccessAreRowMajor) {
  GraphConfig cfg{2, 3, true};
  GraphLayout g(cfg);
  EdgeScores s(cfg);
  ASSERT_EQ(s.data.size(), static_cast<size_t>(g.n_forward()) * g.n_backward());
  s.at(2, 5) = 1.5f;
  EXPECT_EQ(s.data[2 * g.n_backward() + 5], 1.5f);
}

TEST(GraphLayout, NodeLayerAndDstNode) {
  GraphLayout g(GraphConfig{3, 2, true});
  EXPECT_EQ(g.NodeLayer(0), 0);
  EXPECT_EQ(g.NodeLayer(g.ForwardHead(2, 1)), 2);
  EXPECT_EQ(g.NodeLayer(g.NodeLogits()), 2);
  EXPECT_EQ(g.DstNode(g.BackwardHead(1, 1, Qkv::kK)), g.ForwardHead(1, 1));
  EXPECT_EQ(g.DstNode(g.BackwardLogits()), g.NodeLogits());
  EXPECT_EQ(g.CollapsedOf(g.BackwardHead(1, 1, Qkv::kV)), g.CollapsedHead(1, 1));
  EXPECT_EQ(g.CollapsedOf(g.BackwardMlp(2)), g.CollapsedMlp(2));
  EXPECT_EQ(g.CollapsedOf(g.BackwardLogits()), g.CollapsedLogits());
}

}  // namespace
}  // namespace fc::circuit
