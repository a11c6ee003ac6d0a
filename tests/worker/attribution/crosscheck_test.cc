// Cross-check of EAP-IG (inputs and activations) scores against bench/attribution/eap_ig_ref.py, a straightforward
// PyTorch implementation written from the spec (own forward with per-destination tensors and
// retain_grad, one forward + backward and one einsum per destination per step). Skipped when no
// python3 can import torch.
#include <gtest/gtest.h>

#include <filesystem>

#include "bench/attribution/python_ref.h"
#include "tests/worker/attribution/tiny_models.h"
#include "worker/attribution/eap.h"
#include "worker/attribution/graph_of_model.h"

namespace fc::attribution {
namespace {

std::string SourceDir() {
  if (const char* s = std::getenv("FC_SOURCE_DIR")) return s;
  return ".";
}

TEST(CrossCheck, EapIgScoresMatchStraightforwardPyTorch) {
  const std::string py = bench::FindPythonWithTorch();
  if (py.empty()) GTEST_SKIP() << "no python3 with torch (install python3-torch)";
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("fc_attr_xcheck_" + std::to_string(getpid()));
  fs::create_directories(root);
  const std::string script = SourceDir() + "/bench/attribution/eap_ig_ref.py";
  struct Case {
    model::Arch arch;
    std::string py_args;
    AttributionOptions opt;
  };
  AttributionOptions kl_default;  // KL mean, clean reference, right endpoint, m = 5
  AttributionOptions ld_variant;
  ld_variant.metric.kind = MetricKind::kLogitDiff;
  ld_variant.ig_endpoint = IgEndpoint::kLeft;
  ld_variant.weighting = ScoreWeighting::kPaperBatchMean;
  ld_variant.ig_steps = 4;
  AttributionOptions activations;
  activations.method = Method::kEapIgActivations;
  activations.ig_steps = 3;
  // Three runs keep the suite fast (each starts a python3 + torch, ~4 s): NeoX with the defaults,
  // GPT-2 with every non-default option of EAP-IG at once, and EAP-IG on activations (GPT-2:
  // sequential, so MLP l is fed by the heads of layer l; the reference really replaces each
  // group's output, ours uses destination deltas).
  std::vector<Case> cases = {
      {model::Arch::kGptNeox, "--steps 5", kl_default},
      {model::Arch::kGpt2, "--steps 4 --metric logit_diff --endpoint left --paper-weighting",
       ld_variant},
      {model::Arch::kGpt2, "--steps 3 --method eap_ig_activations", activations},
  };
  std::vector<TokenizedRow> rows = testing::TinyRows(5, 17);
  const std::string rows_json = (root / "rows.json").string();
  ASSERT_TRUE(bench::WriteRowsJson(rows_json, rows, 0, 2).ok());
  auto batches = MakeBatches(rows, 2, 0);
  ASSERT_TRUE(batches.ok());
  for (size_t i = 0; i < cases.size(); ++i) {
    auto m = testing::TinyModel(cases[i].arch, 100 + i);
    const std::string dir = (root / ("m" + std::to_string(i))).string();
    ASSERT_TRUE(model::SaveCausalLM(*m, dir).ok());
    auto ours = AttributeDense(*m, *batches, cases[i].opt);
    ASSERT_TRUE(ours.ok()) << ours.status().ToString();
    auto ref = bench::RunPythonReference(py, script, dir, rows_json, dir + "/scores.f32",
                                         cases[i].py_args, ours->size(0), ours->size(1));
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    const double scale = ref->scores.abs().max().item<double>();
    ASSERT_GT(scale, 0);
    const double err = (*ours - ref->scores).abs().max().item<double>() / scale;
    EXPECT_LT(err, 1e-4) << "case " << i << " (" << cases[i].py_args << ")";
    if (err >= 1e-4) {
      circuit::GraphLayout layout(GraphConfigOf(m->config()));
      torch::Tensor col_err = (*ours - ref->scores).abs().amax(0) / scale;
      torch::Tensor row_err = (*ours - ref->scores).abs().amax(1) / scale;
      for (int b = 0; b < layout.n_backward(); ++b) {
        if (col_err[b].item<double>() > 1e-4) ADD_FAILURE() << "destination " << layout.BackwardName(b) << " err " << col_err[b].item<double>();
      }
      for (int f = 0; f < layout.n_forward(); ++f) {
        if (row_err[f].item<double>() > 1e-4) ADD_FAILURE() << "source " << layout.ForwardName(f) << " err " << row_err[f].item<double>();
      }
    }
  }
  if (std::getenv("FC_KEEP_TMP") == nullptr) fs::remove_all(root);
}

}  // namespace
}  // namespace fc::attribution
