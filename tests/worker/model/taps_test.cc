// Taps: the sum-of-upstream-outputs identity, zero deltas, the patched forward of
// algorithms.md 5.4, and gradients w.r.t. destination inputs (EAP-IG, 3.8).
#include "worker/model/taps.h"

#include <gtest/gtest.h>

#include "tests/worker/model/model_test_util.h"
#include "worker/model/causal_lm.h"

namespace fc::model {
namespace {

using testing::MaxAbsDiff;
using testing::MustParse;
using testing::RandomIds;
using torch::indexing::Slice;

struct ArchCase {
  const char* name;
  nlohmann::json config;
};

std::vector<ArchCase> Archs() {
  return {{"neox_parallel", testing::TinyNeoxJson(true)},
          {"neox_sequential", testing::TinyNeoxJson(false)},
          {"gpt2", testing::TinyGpt2Json()}};
}

// Output bias of the attention of layer l (belongs to no node).
torch::Tensor AttnBias(CausalLM& m, int64_t l) {
  const std::string name = m.config().arch == Arch::kGpt2
                               ? "transformer.h." + std::to_string(l) + ".attn.c_proj.bias"
                               : "gpt_neox.layers." + std::to_string(l) + ".attention.dense.bias";
  for (auto& [n, p] : m.NamedParameters()) {
    if (n == name) return p;
  }
  ADD_FAILURE() << "no " << name;
  return torch::Tensor();
}

// Constant part of a destination input: positions (GPT-2) + attention output biases of the
// first `attn_layers` layers.
torch::Tensor Constant(CausalLM& m, int64_t positions, int64_t attn_layers) {
  torch::Tensor c = torch::zeros({m.config().d_model});
  if (m.config().arch == Arch::kGpt2) {
    for (auto& [n, p] : m.NamedParameters()) {
      if (n == "transformer.wpe.weight") c = c + p.narrow(0, 0, positions);  // [P,D]
    }
  }
  for (int64_t l = 0; l < attn_layers; ++l) c = c + AttnBias(m, l);
  return c;
}

TEST(Taps, DestinationInputsEqualSumOfUpstreamOutputsPlusConstants) {
  for (const auto& arch : Archs()) {
    SCOPED_TRACE(arch.name);
    auto model = CreateRandomCausalLM(MustParse(arch.config), 21);
    const ModelConfig& c = model->config();
    const int64_t L = c.n_layers, H = c.n_heads, P = 6;
    const torch::Tensor ids = RandomIds(2, P, c.vocab_size, 4);
    torch::NoGradGuard g;
    const torch::Tensor plain = model->Forward(ids);
    Taps taps;
    taps.capture_outputs = true;
    taps.retain_inputs = true;
    const torch::Tensor logits = model->Forward(ids, &taps);
    EXPECT_LT(MaxAbsDiff(logits, plain), 1e-5);
    ASSERT_EQ(taps.outputs.sizes(), (std::vector<int64_t>{2, P, c.n_forward(), c.d_model}));
    EXPECT_TRUE(torch::equal(taps.outputs.select(2, 0), model->Embed(ids)));
    for (int64_t l = 0; l < L; ++l) {
      const int64_t prev_head = 1 + l * (H + 1);
      torch::Tensor want = taps.outputs.narrow(2, 0, prev_head).sum(2) + Constant(*model, P, l);
      for (DestKind k : {DestKind::kQ, DestKind::kK, DestKind::kV}) {
        const torch::Tensor& x = taps.Input(l, k);  // [B,P,H,D]
        ASSERT_EQ(x.sizes(), (std::vector<int64_t>{2, P, H, c.d_model}));
        for (int64_t h = 0; h < H; ++h) {
          EXPECT_LT(MaxAbsDiff(x.select(2, h), want), 1e-4) << "layer " << l << " head " << h;
        }
      }
      const int64_t prev_mlp = c.parallel_residual ? prev_head : prev_head + H;
      torch::Tensor want_mlp = taps.outputs.narrow(2, 0, prev_mlp).sum(2) +
                               Constant(*model, P, c.parallel_residual ? l : l + 1);
      EXPECT_LT(MaxAbsDiff(taps.mlp_in[l], want_mlp), 1e-4) << "mlp " << l;
    }
    torch::Tensor want_final = taps.outputs.sum(2) + Constant(*model, P, L);
    EXPECT_LT(MaxAbsDiff(taps.logits_in, want_final), 1e-4);
    EXPECT_GT(want_final.abs().max().item<double>(), 0.5);  // not a trivially small stream
  }
}

TEST(Taps, CaptureWithoutRetainLeavesInputsEmptyAndStacksAllSources) {
  auto model = CreateRandomCausalLM(MustParse(testing::TinyNeoxJson()), 1);
  Taps taps;
  taps.capture_outputs = true;
  torch::Tensor ids = RandomIds(1, 4, 50, 1);
  model->Forward(ids, &taps);  // grad mode on: the list path, then one stack
  EXPECT_TRUE(taps.q_in.empty());
  EXPECT_FALSE(taps.logits_in.defined());
  ASSERT_EQ(taps.head_out.size(), 2u);
  EXPECT_TRUE(torch::equal(taps.outputs.narrow(2, 1, 4), taps.head_out[0]));
  EXPECT_TRUE(torch::equal(taps.outputs.select(2, 5), taps.mlp_out[0]));
  EXPECT_TRUE(torch::equal(taps.StackOutputs(7), taps.outputs.narrow(2, 0, 7)));
}

TEST(Taps, ZeroDeltasEverywhereEqualThePlainForward) {
  for (const auto& arch : Archs()) {
    auto model = CreateRandomCausalLM(MustParse(arch.config), 3);
    const torch::Tensor ids = RandomIds(2, 5, 50, 9);
    torch::NoGradGuard g;
    int calls = 0;
    Taps taps;
    taps.input_delta = [&](const Taps& t, int64_t layer, DestKind kind) {
      ++calls;
      const auto& e = t.embed_out;  // [B,P,D]
      if (kind == DestKind::kMlp || kind == DestKind::kLogits) return torch::zeros_like(e);
      return torch::zeros({e.size(0), e.size(1), model->config().n_heads, e.size(2)});
    };
    EXPECT_LT(MaxAbsDiff(model->Forward(ids, &taps), model->Forward(ids)), 1e-5) << arch.name;
    EXPECT_EQ(calls, 2 * 4 + 1) << arch.name;
  }
}

// All edges corrupted: each destination reads sum of corrupted upstream outputs, so the patched
// clean run must reproduce the corrupted logits; an empty delta reproduces the clean ones.
TEST(Taps, PatchedForwardWithEveryEdgeCorruptedGivesCorruptedLogits) {
  for (const auto& arch : Archs()) {
    SCOPED_TRACE(arch.name);
    auto model = CreateRandomCausalLM(MustParse(arch.config), 13);
    const ModelConfig& c = model->config();
    const int64_t H = c.n_heads;
    const torch::Tensor clean = RandomIds(2, 6, 50, 1), corrupt = RandomIds(2, 6, 50, 2);
    torch::NoGradGuard g;
    Taps corr_taps;
    corr_taps.capture_outputs = true;
    const torch::Tensor corr_logits = model->Forward(corrupt, &corr_taps);
    const torch::Tensor out_corr = corr_taps.outputs;  // [B,P,F,D]
    auto prev = [&](int64_t layer, DestKind kind) -> int64_t {
      if (kind == DestKind::kLogits) return c.n_forward();
      const int64_t base = 1 + layer * (H + 1);
      if (kind == DestKind::kMlp && !c.parallel_residual) return base + H;
      return base;
    };
    Taps patched;
    patched.input_delta = [&](const Taps& t, int64_t layer, DestKind kind) {
      const int64_t n = prev(layer, kind);
      torch::Tensor d = (out_corr.narrow(2, 0, n) - t.StackOutputs(n)).sum(2);  // [B,P,D]
      if (kind == DestKind::kMlp || kind == DestKind::kLogits) return d;
      return d.unsqueeze(2).expand({d.size(0), d.size(1), H, d.size(2)}).contiguous();
    };
    const torch::Tensor got = model->Forward(clean, &patched);
    EXPECT_LT(MaxAbsDiff(got, corr_logits), 1e-4);
    EXPECT_GT(MaxAbsDiff(model->Forward(clean), corr_logits), 0.1);
  }
}

TEST(Taps, RetainedInputGradsMatchDeltaGradsAndFiniteDifferences) {
  for (const auto& arch : Archs()) {
    SCOPED_TRACE(arch.name);
    auto made = CreateRandomCausalLM(MustParse(arch.config), 17, torch::kCPU, torch::kFloat64);
    ASSERT_TRUE(made.ok());
    CausalLM& model = **made;
    const ModelConfig& c = model.config();
    const torch::Tensor ids = RandomIds(2, 5, 50, 5);
    auto loss_of = [&](const torch::Tensor& logits) {
      return torch::log_softmax(logits, -1).select(-1, 3).sum();
    };
    // (1) retained inputs, embeddings as a grad leaf (the EAP-IG set-up)
    Taps taps;
    taps.retain_inputs = true;
    torch::Tensor emb = model.Embed(ids).detach().requires_grad_(true);
    loss_of(model.ForwardFromEmbeddings(emb, &taps)).backward();
    // (2) zero delta leaves: d loss / d delta_v is the same gradient through v only
    std::map<std::pair<int64_t, int>, torch::Tensor> deltas;
    Taps dtaps;
    dtaps.input_delta = [&](const Taps& t, int64_t layer, DestKind kind) {
      std::vector<int64_t> shape = {2, 5, c.d_model};
      if (kind != DestKind::kMlp && kind != DestKind::kLogits) shape = {2, 5, c.n_heads, c.d_model};
      torch::Tensor d = torch::zeros(shape, torch::kFloat64).requires_grad_(true);
      deltas[{layer, static_cast<int>(kind)}] = d;
      return d;
    };
    loss_of(model.Forward(ids, &dtaps)).backward();
    ASSERT_EQ(deltas.size(), 2 * 4 + 1u);
    for (auto& [key, d] : deltas) {
      const torch::Tensor& x = taps.Input(key.first, static_cast<DestKind>(key.second));
      ASSERT_TRUE(x.grad().defined()) << key.first << "/" << key.second;
      EXPECT_LT(MaxAbsDiff(x.grad(), d.grad()), 1e-10) << key.first << "/" << key.second;
      EXPECT_GT(x.grad().abs().max().item<double>(), 0.0);
    }
    // (3) central finite difference on one element of layer 1's k input (head 2)
    const double eps = 1e-6;
    auto loss_with = [&](double shift) {
      torch::NoGradGuard g;
      Taps t;
      t.input_delta = [&](const Taps&, int64_t layer, DestKind kind) {
        if (layer != 1 || kind != DestKind::kK) return torch::Tensor();
        torch::Tensor d = torch::zeros({2, 5, c.n_heads, c.d_model}, torch::kFloat64);
        d[1][3][2][7] = shift;
        return d;
      };
      return loss_of(model.Forward(ids, &t)).item<double>();
    };
    const double fd = (loss_with(eps) - loss_with(-eps)) / (2 * eps);
    EXPECT_NEAR(taps.k_in[1].grad()[1][3][2][7].item<double>(), fd, 1e-6);
  }
}

}  // namespace
}  // namespace fc::model
