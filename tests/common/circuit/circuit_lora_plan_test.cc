#include "common/circuit/circuit_lora_plan.h"

#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/circuit/test_util.h"

namespace fc::circuit {
namespace {

using testing::SetCollapsed;

// A hand-made stand-in for the section-8 test vector (the released union JSONs are not in the
// repo). L=8, H=2, parallel. Per-layer deltas under source attribution (hand-computed):
//   L0 4.8 = 2.0 (input->a0.h0, in both) + 2.0 (input->m0, after only) + 0.8 (a0.h0->a1.h1)
//   L1 1.0, L2 1.5, L3 -- (no delta edge), L4 3.5, L5 2.5, L6 2.2, L7 0.5
// so top-5 = [0, 4, 5, 6, 2]; without charging input edges to layer 0 it would be
// [4, 5, 6, 2, 1]. Mean+std over the 7 layers with deltas = 3.6646 -> [0]; counting the absent
// layer 3 as 0 would give 3.4950 -> [0, 4].
struct PlanFixture {
  GraphLayout g{GraphConfig{8, 2, true}};
  CollapsedCircuit before = MakeEmptyCollapsed(g.config());
  CollapsedCircuit after = MakeEmptyCollapsed(g.config());
  CircuitLoraOptions opt;
  PlanFixture() {
    SetCollapsed(g, &before, "input->a0.h0", 1.0);
    SetCollapsed(g, &after, "input->a0.h0", 3.0);
    SetCollapsed(g, &after, "input->m0", -2.0);
    SetCollapsed(g, &before, "a0.h0->a1.h1", -0.3);
    SetCollapsed(g, &after, "a0.h0->a1.h1", 0.5);
    SetCollapsed(g, &before, "a1.h1->m2", 1.0);
    SetCollapsed(g, &after, "m2->a4.h0", -1.5);
    SetCollapsed(g, &before, "a4.h0->logits", 1.0);
    SetCollapsed(g, &after, "a4.h0->logits", 4.5);
    SetCollapsed(g, &after, "m5->logits", 2.5);
    SetCollapsed(g, &before, "a6.h1->m7", 2.2);
    SetCollapsed(g, &before, "m7->logits", 0.25);
    SetCollapsed(g, &after, "m7->logits", 0.75);
    opt.shape = ModelShape{ModelArch::kGptNeox, 8, 64, 256, 1000, 0};
    opt.r_o = 16;
    opt.alpha = 32;
    opt.r_c = 64;
    opt.alpha_c = 128;
  }
};

TEST(CircuitLoraPlanTest, SourceAttributionChargesInputEdgesToLayerZero) {
  PlanFixture fx;
  auto plan = PlanCircuitLora(fx.before, fx.after, fx.opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->n_delta_edges, 9);
  const std::vector<double> want = {4.8, 1.0, 1.5, 0.0, 3.5, 2.5, 2.2, 0.5};
  ASSERT_EQ(plan->layer_delta.size(), want.size());
  for (size_t l = 0; l < want.size(); ++l) EXPECT_NEAR(plan->layer_delta[l], want[l], 1e-12) << l;
  EXPECT_EQ(plan->layer_delta_edges, (std::vector<double>{3, 1, 1, 0, 1, 1, 1, 1}));
  EXPECT_EQ(plan->critical_layers, (std::vector<int>{0, 4, 5, 6, 2}));
}

TEST(CircuitLoraPlanTest, MeanPlusStdCountsOnlyLayersWithDeltaEdges) {
  PlanFixture fx;
  fx.opt.rule = CriticalRule::kMeanStd;
  auto plan = PlanCircuitLora(fx.before, fx.after, fx.opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_NEAR(plan->threshold, 3.6645632585158463, 1e-9);
  EXPECT_EQ(plan->critical_layers, (std::vector<int>{0}));
  EXPECT_EQ(CriticalRuleForTopK(0), CriticalRule::kMeanStd);
  EXPECT_EQ(CriticalRuleForTopK(5), CriticalRule::kTopK);
}

TEST(CircuitLoraPlanTest, DestinationAndSplitAttribution) {
  PlanFixture fx;
  fx.opt.attribution = LayerAttribution::kDestination;
  auto dst = PlanCircuitLora(fx.before, fx.after, fx.opt);
  ASSERT_TRUE(dst.ok());
  // dst layers: a0.h0 0 (2.0), m0 0 (2.0), a1.h1 1 (0.8), m2 2 (1.0), a4.h0 4 (1.5),
  // logits -> 7 (3.5 + 2.5 + 0.5), m7 7 (2.2).
  const std::vector<double> want_dst = {4.0, 0.8, 1.0, 0.0, 1.5, 0.0, 0.0, 8.7};
  for (size_t l = 0; l < want_dst.size(); ++l) EXPECT_NEAR(dst->layer_delta[l], want_dst[l], 1e-12) << l;
  EXPECT_EQ(dst->critical_layers, (std::vector<int>{7, 0, 4, 2, 1}));
  fx.opt.attribution = LayerAttribution::kSplit;
  auto split = PlanCircuitLora(fx.before, fx.after, fx.opt);
  ASSERT_TRUE(split.ok());
  const std::vector<double> src = {4.8, 1.0, 1.5, 0.0, 3.5, 2.5, 2.2, 0.5};
  for (size_t l = 0; l < src.size(); ++l)
    EXPECT_NEAR(split->layer_delta[l], 0.5 * (src[l] + want_dst[l]), 1e-12) << l;
}

TEST(CircuitLoraPlanTest, RankMapGivesCriticalModulesRankRcAndOthersRo) {
  PlanFixture fx;
  fx.opt.top_k = 2;
  auto plan = PlanCircuitLora(fx.before, fx.after, fx.opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->critical_layers, (std::vector<int>{0, 4}));
  ASSERT_EQ(plan->modules.size(), 32u);
  EXPECT_EQ(plan->CriticalModules(),
            (std::vector<std::string>{"gpt_neox.layers.0.attention.query_key_value",
                                      "gpt_neox.layers.0.attention.dense",
                                      "gpt_neox.layers.0.mlp.dense_h_to_4h",
                                      "gpt_neox.layers.0.mlp.dense_4h_to_h",
                                      "gpt_neox.layers.4.attention.query_key_value",
                                      "gpt_neox.layers.4.attention.dense",
                                      "gpt_neox.layers.4.mlp.dense_h_to_4h",
                                      "gpt_neox.layers.4.mlp.dense_4h_to_h"}));
  auto j = nlohmann::json::parse(PlanToJson(*plan));
  const auto& crit = j["modules"]["gpt_neox.layers.4.mlp.dense_4h_to_h"];
  EXPECT_EQ(crit["r"], 64);
  EXPECT_EQ(crit["alpha"], 128.0);
  EXPECT_EQ(crit["critical"], true);
  const auto& other = j["modules"]["gpt_neox.layers.1.attention.dense"];
  EXPECT_EQ(other["r"], 16);
  EXPECT_EQ(other["alpha"], 32.0);
  EXPECT_EQ(other["critical"], false);
  EXPECT_EQ(j["lr_critical"], 6e-4);
  EXPECT_EQ(j["lr_other"], 3e-4);
  EXPECT_EQ(j["critical_layers"], nlohmann::json::parse("[0, 4]"));
  EXPECT_EQ(j["modules"].size(), 32u);
  // Trainable: sum over a layer's 4 modules of (in + out), times r_o for 6 layers, r_c for 2.
  const int64_t per_rank = (64 + 192) + (64 + 64) + (64 + 256) + (256 + 64);
  EXPECT_EQ(plan->params.trainable, per_rank * (6 * 16 + 2 * 64));
}

TEST(CircuitLoraPlanTest, Gpt2ModuleNamesAndNoneRule) {
  PlanFixture fx;
  fx.opt.shape.arch = ModelArch::kGpt2;
  fx.opt.rule = CriticalRule::kNone;
  auto plan = PlanCircuitLora(fx.before, fx.after, fx.opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->critical_layers.empty());
  EXPECT_EQ(plan->modules[0].name, "transformer.h.0.attn.c_attn");
  EXPECT_EQ(plan->modules[1].name, "transformer.h.0.attn.c_proj");
  EXPECT_EQ(plan->modules[2].name, "transformer.h.0.mlp.c_fc");
  EXPECT_EQ(plan->modules[3].name, "transformer.h.0.mlp.c_proj");
  for (const ModuleRank& m : plan->modules) EXPECT_EQ(m.r, 16);
}

TEST(CircuitLoraPlanTest, BadOptionsNameTheField) {
  PlanFixture fx;
  fx.opt.shape.n_layers = 24;
  auto r = PlanCircuitLora(fx.before, fx.after, fx.opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("n_layers"), std::string::npos);
  PlanFixture fx2;
  fx2.opt.r_c = 0;
  r = PlanCircuitLora(fx2.before, fx2.after, fx2.opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("r_c"), std::string::npos);
  EXPECT_FALSE(ParseLayerAttribution("middle").ok());
  EXPECT_EQ(*ParseLayerAttribution("dst"), LayerAttribution::kDestination);
}

// algorithms.md 6.5, Pythia-1.4b.
TEST(ParamCountTest, ReproducesPythia14bRatiosOfSection65) {
  const ModelShape p = ModelShape::Pythia1p4b();
  EXPECT_EQ(BaseParameterCount(p), 1414647808);
  EXPECT_EQ(CountUniformLora(p, 1).trainable, 24 * 32768);  // r * 32768 per layer
  auto pct = [](ParamCount c) { return std::round(c.ratio() * 100.0 * 1e4) / 1e4; };
  EXPECT_DOUBLE_EQ(pct(CountUniformLora(p, 2)), 0.1111);
  EXPECT_DOUBLE_EQ(pct(CountUniformLora(p, 8)), 0.4428);
  EXPECT_DOUBLE_EQ(pct(CountUniformLora(p, 16)), 0.8816);
  EXPECT_DOUBLE_EQ(pct(CountUniformLora(p, 32)), 1.7479);
  EXPECT_DOUBLE_EQ(pct(CountUniformLora(p, 64)), 3.4357);
  const std::vector<int> k5 = {0, 4, 5, 6, 11};
  EXPECT_DOUBLE_EQ(pct(CountCircuitLora(p, k5, 2, 8)), 0.1803);
  EXPECT_DOUBLE_EQ(pct(CountCircuitLora(p, k5, 8, 32)), 0.7175);
  EXPECT_DOUBLE_EQ(pct(CountCircuitLora(p, k5, 16, 64)), 1.4248);
  EXPECT_DOUBLE_EQ(pct(CountCircuitLora(p, k5, 32, 64)), 2.1043);
  EXPECT_DOUBLE_EQ(pct(CountAdaLoraInit(p, 32)), 1.7481);
}

TEST(ParamCountTest, Gpt2SmallBaseCount) {
  EXPECT_EQ(BaseParameterCount(ModelShape::Gpt2Small()), 124439808);
  auto mods = LoraTargetModules(ModelShape::Gpt2Small());
  ASSERT_EQ(mods.size(), 48u);
  EXPECT_EQ(mods[0].out, 3 * 768);
  EXPECT_EQ(mods[3].in, 3072);
}

}  // namespace
}  // namespace fc::circuit
