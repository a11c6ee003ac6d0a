#include "worker/attribution/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/worker/attribution/tiny_models.h"
#include "worker/attribution/graph_of_model.h"

namespace fc::attribution {
namespace {

using testing::TinyBatches;
using testing::TinyModel;

class PatchedForwardTest : public ::testing::TestWithParam<model::Arch> {
 protected:
  void SetUp() override {
    model_ = TinyModel(GetParam());
    layout_ = std::make_unique<circuit::GraphLayout>(GraphConfigOf(model_->config()));
    batches_ = TinyBatches(6, 3, 11);
  }
  // Corrupted outputs and logits of one batch.
  std::pair<torch::Tensor, torch::Tensor> Corrupted(const Batch& b) {
    torch::NoGradGuard ng;
    model::Taps taps;
    taps.capture_outputs = true;
    torch::Tensor logits = model_->Forward(b.corrupted_ids, &taps);
    return {taps.outputs, logits};
  }
  std::unique_ptr<model::CausalLM> model_;
  std::unique_ptr<circuit::GraphLayout> layout_;
  std::vector<Batch> batches_;
};

TEST_P(PatchedForwardTest, AllEdgesInIsTheCleanForward) {
  for (const Batch& b : batches_) {
    auto [outs, corr_logits] = Corrupted(b);
    auto patched = PatchedForward(*model_, *layout_, b.clean_ids, outs, RealEdgeMask(*layout_));
    ASSERT_TRUE(patched.ok()) << patched.status().ToString();
    torch::NoGradGuard ng;
    torch::Tensor clean = model_->Forward(b.clean_ids);
    EXPECT_LT((*patched - clean).abs().max().item<float>(), 1e-5);
    EXPECT_GT((clean - corr_logits).abs().max().item<float>(), 1e-3);  // the runs do differ
  }
}

TEST_P(PatchedForwardTest, NoEdgeInIsTheCorruptedForward) {
  for (const Batch& b : batches_) {
    auto [outs, corr_logits] = Corrupted(b);
    torch::Tensor none = torch::zeros({layout_->n_forward(), layout_->n_backward()}, torch::kBool);
    auto patched = PatchedForward(*model_, *layout_, b.clean_ids, outs, none);
    ASSERT_TRUE(patched.ok()) << patched.status().ToString();
    EXPECT_LT((*patched - corr_logits).abs().max().item<float>(), 1e-5);
  }
}

TEST_P(PatchedForwardTest, OneCorruptedEdgeChangesOnlyWhatItFeeds) {
  // Corrupting input->logits alone must change the logits, but by less than corrupting all.
  const Batch& b = batches_[0];
  auto [outs, corr_logits] = Corrupted(b);
  torch::Tensor kept = RealEdgeMask(*layout_).clone();
  kept[layout_->ForwardInput()][layout_->BackwardLogits()] = false;
  auto patched = PatchedForward(*model_, *layout_, b.clean_ids, outs, kept);
  ASSERT_TRUE(patched.ok());
  torch::NoGradGuard ng;
  torch::Tensor clean = model_->Forward(b.clean_ids);
  const float moved = (*patched - clean).abs().max().item<float>();
  EXPECT_GT(moved, 1e-4);
  // Position 0 (BOS) is identical in clean and corrupted: its logits cannot move.
  EXPECT_LT((*patched - clean).select(1, 0).abs().max().item<float>(), 1e-5);
}

TEST_P(PatchedForwardTest, FullCircuitIsFaithfulAndEmptyCircuitIsNot) {
  for (MetricKind kind : {MetricKind::kLogitDiff, MetricKind::kKl}) {
    EvaluationOptions opt;
    opt.metric.kind = kind;
    auto full = EvaluateCircuit(*model_, batches_, FullCircuitMask(*layout_), opt);
    auto empty = EvaluateCircuit(*model_, batches_, EmptyCircuitMask(*layout_), opt);
    ASSERT_TRUE(full.ok() && empty.ok()) << full.status().ToString();
    EXPECT_TRUE(full->normalized_defined && empty->normalized_defined);
    EXPECT_NEAR(full->normalized_faithfulness, 1.0, 1e-3) << MetricKindName(kind);
    EXPECT_NEAR(empty->normalized_faithfulness, 0.0, 1e-6) << MetricKindName(kind);
    EXPECT_TRUE(full->kl_defined);
    EXPECT_NEAR(full->kl_faithfulness_pct, 100.0, 0.1);
    EXPECT_NEAR(empty->kl_faithfulness_pct, 0.0, 1e-6);
    EXPECT_GT(full->kl_baseline, 0.0);
    EXPECT_EQ(full->examples, 6);
  }
}

TEST_P(PatchedForwardTest, EmptyEdgeMaskWithoutNodesEqualsCorruptedRun) {
  // Edges only (no node mask): nothing into logits -> the corrupted logits exactly.
  CircuitMask edges_only{torch::zeros({layout_->n_forward(), layout_->n_backward()}, torch::kBool),
                         torch::Tensor()};
  auto r = RunPatched(*model_, batches_[0], edges_only);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(torch::equal(r->circuit, r->corrupted));
}

INSTANTIATE_TEST_SUITE_P(BothArchitectures, PatchedForwardTest,
                         ::testing::Values(model::Arch::kGptNeox, model::Arch::kGpt2),
                         [](const auto& info) {
                           return info.param == model::Arch::kGptNeox ? "GptNeox" : "Gpt2";
                         });

TEST(Evaluation, NodeMaskDropsTheEdgesOfNodesOutOfTheCircuit) {
  circuit::GraphLayout layout(circuit::GraphConfig{2, 4, true, 32});
  CircuitMask mask = FullCircuitMask(layout);
  mask.nodes[layout.ForwardHead(0, 1)] = false;
  auto kept = EffectiveEdgeMask(layout, mask);
  ASSERT_TRUE(kept.ok());
  const int f = layout.ForwardHead(0, 1);
  EXPECT_FALSE(kept->select(0, f).any().item<bool>());  // no edge out of a0.h1
  EXPECT_FALSE((*kept)[0][layout.BackwardHead(0, 1, circuit::Qkv::kK)].item<bool>());  // none in
  EXPECT_TRUE((*kept)[0][layout.BackwardHead(0, 2, circuit::Qkv::kK)].item<bool>());
  EXPECT_EQ(kept->sum().item<int64_t>(),
            layout.n_edges() - (layout.n_backward() - layout.BackwardHead(1, 0, circuit::Qkv::kQ)) -
                3);  // out-edges of a0.h1 (all later destinations) and its 3 in-edges from input
  CircuitMask bad{torch::zeros({3, 3}, torch::kBool), torch::Tensor()};
  auto err = EffectiveEdgeMask(layout, bad);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("'edges'"), std::string::npos);
}

TEST(Evaluation, ZeroDenominatorsGiveNanAndAFlag) {
  auto [v, ok] = NormalizedFaithfulness(0.3, 0.5, 0.5);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(std::isnan(v));
  auto [p, pok] = KlFaithfulnessPercent(0.0, 0.1);
  EXPECT_FALSE(pok);
  EXPECT_TRUE(std::isnan(p));
  auto [q, qok] = KlFaithfulnessPercent(2.0, 3.0);
  EXPECT_TRUE(qok);
  EXPECT_DOUBLE_EQ(q, 50.0);
  auto [n, nok] = NormalizedFaithfulness(0.75, 1.0, 0.5);
  EXPECT_TRUE(nok);
  EXPECT_DOUBLE_EQ(n, 0.5);
}

}  // namespace
}  // namespace fc::attribution
