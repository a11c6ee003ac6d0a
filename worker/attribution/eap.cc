#include "worker/attribution/eap.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "worker/attribution/graph_of_model.h"
#include "worker/attribution/ig_schedule.h"
#include "worker/attribution/memory_plan.h"
#include "worker/attribution/model_guards.h"

namespace fc::attribution {
namespace {

using model::CausalLM;
using model::DestKind;
using model::Taps;
using DeltaFn = std::function<torch::Tensor(const Taps&, int64_t, DestKind)>;

// What one batch's clean and corrupted runs leave for the gradient passes.
struct BatchRuns {
  int64_t b = 0, p = 0;
  torch::Tensor delta;      // [n_forward, B*P*D] float32, rows in forward-index order
  torch::Tensor e_clean;    // [B,P,D] model dtype: token embeddings of the clean run
  torch::Tensor e_corr;     // [B,P,D] model dtype
  torch::Tensor out_clean;  // [B,P,n_forward,D] (only for kEapIgActivations)
  torch::Tensor out_corr;   // [B,P,n_forward,D] (only for kEapIgActivations)
  torch::Tensor ref_last;   // [B,V] float32 reference logits at len-1 (KL only)
};

StatusOr<BatchRuns> RunCleanAndCorrupted(CausalLM& model, const Batch& batch,
                                         const AttributionOptions& options,
                                         AttributionStats* stats) {
  torch::NoGradGuard no_grad;
  BatchRuns runs;
  runs.b = batch.size();
  runs.p = batch.clean_ids.size(1);
  Taps corr_taps, clean_taps;
  corr_taps.capture_outputs = clean_taps.capture_outputs = true;
  torch::Tensor logits_corr = model.Forward(batch.corrupted_ids, &corr_taps);    // [B,P,V]
  torch::Tensor logits_clean = model.Forward(batch.clean_ids, &clean_taps);      // [B,P,V]
  stats->forwards += 2;
  runs.e_clean = clean_taps.embed_out;
  runs.e_corr = corr_taps.embed_out;
  {
    torch::Tensor diff = corr_taps.outputs.to(torch::kFloat) -
                         clean_taps.outputs.to(torch::kFloat);  // [B,P,F,D]
    const int64_t f = diff.size(2), d = diff.size(3);
    runs.delta = diff.permute({2, 0, 1, 3}).reshape({f, runs.b * runs.p * d}).contiguous();
  }
  if (options.method == Method::kEapIgActivations) {
    runs.out_clean = clean_taps.outputs;
    runs.out_corr = corr_taps.outputs;
  }
  if (options.metric.kind == MetricKind::kKl) {
    const torch::Tensor& ref =
        ResolveReference(options) == Reference::kClean ? logits_clean : logits_corr;
    FC_ASSIGN_OR_RETURN(torch::Tensor ref_last, GatherLastPosition(ref, batch.lengths));
    runs.ref_last = ref_last.to(torch::kFloat);
  }
  return runs;
}

// Gradient of a [s*B, ...] destination input summed over the s steps, float32 [B, ...].
torch::Tensor SumOverSteps(const torch::Tensor& grad, int64_t s, const torch::Tensor& like) {
  std::vector<int64_t> shape = {s, like.size(0) / s};
  for (int64_t i = 1; i < like.dim(); ++i) shape.push_back(like.size(i));
  if (!grad.defined()) {  // the destination does not reach the metric (allow_unused)
    shape.erase(shape.begin());
    return torch::zeros(shape, like.options().dtype(torch::kFloat));
  }
  return grad.to(torch::kFloat).reshape(shape).sum(0);
}

// scores[:prev, layer columns] += Delta[:prev] x G: one GEMM per destination layer.
void AccumulateScores(const std::vector<torch::Tensor>& inputs,
                      const std::vector<torch::Tensor>& grads, int64_t s, const BatchRuns& runs,
                      const circuit::GraphLayout& layout, torch::Tensor* scores) {
  const int64_t n_layers = layout.n_layers(), h = layout.n_heads();
  const int64_t bpd = runs.delta.size(1);
  auto head_cols = [&](size_t i) {  // [B,P,H,D] -> [B*P*D, H]
    return SumOverSteps(grads[i], s, inputs[i]).permute({0, 1, 3, 2}).reshape({bpd, h});
  };
  auto vec_col = [&](size_t i) {  // [B,P,D] -> [B*P*D, 1]
    return SumOverSteps(grads[i], s, inputs[i]).reshape({bpd, 1});
  };
  for (int64_t l = 0; l < n_layers; ++l) {
    const size_t base = static_cast<size_t>(4 * l);
    torch::Tensor g = torch::cat({head_cols(base), head_cols(base + 1), head_cols(base + 2),
                                  vec_col(base + 3)},
                                 1);  // [B*P*D, 3H+1]
    const int64_t prev = layout.Prev(layout.BackwardMlp(static_cast<int>(l)));
    const int64_t col0 = layout.BackwardHead(static_cast<int>(l), 0, circuit::Qkv::kQ);
    scores->narrow(0, 0, prev).narrow(1, col0, 3 * h + 1).add_(runs.delta.narrow(0, 0, prev).mm(g));
  }
  scores->narrow(1, layout.BackwardLogits(), 1).add_(runs.delta.mm(vec_col(grads.size() - 1)));
}

// One gradient pass over s*B rows starting from `embeds`; adds its scores.
Status GradientPass(CausalLM& model, const torch::Tensor& embeds, int64_t s, const Batch& batch,
                    const BatchRuns& runs, const AttributionOptions& options,
                    const DeltaFn& delta_fn, const circuit::GraphLayout& layout,
                    torch::Tensor* scores, AttributionStats* stats) {
  torch::AutoGradMode grad_mode(true);
  Taps taps;
  taps.retain_inputs = true;
  if (delta_fn) taps.input_delta = delta_fn;
  torch::Tensor logits = model.ForwardFromEmbeddings(embeds, &taps);  // [s*B,P,V]
  stats->forwards += 1;
  stats->max_rows_per_forward = std::max(stats->max_rows_per_forward, logits.size(0));
  FC_ASSIGN_OR_RETURN(torch::Tensor last, GatherLastPosition(logits, batch.lengths.repeat({s})));
  logits = torch::Tensor();
  torch::Tensor ref = runs.ref_last.defined() ? runs.ref_last.repeat({s, 1}) : torch::Tensor();
  FC_ASSIGN_OR_RETURN(torch::Tensor per_example,
                      MetricOnLastRows(options.metric, last, ref, batch.labels.repeat({s}),
                                       batch.incorrect.repeat({s})));
  torch::Tensor loss = per_example.sum();
  if (options.weighting == ScoreWeighting::kPaperBatchMean) loss = loss / static_cast<double>(runs.b);

  std::vector<torch::Tensor> inputs;
  for (int64_t l = 0; l < layout.n_layers(); ++l) {
    for (DestKind k : {DestKind::kQ, DestKind::kK, DestKind::kV, DestKind::kMlp}) {
      inputs.push_back(taps.Input(l, k));
    }
  }
  inputs.push_back(taps.logits_in);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) {
      return InternalError("attribution: destination input {} was not retained with grad", i);
    }
  }
  std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, inputs, /*grad_outputs=*/{},
                                                           /*retain_graph=*/false,
                                                           /*create_graph=*/false,
                                                           /*allow_unused=*/true);
  stats->backwards += 1;
  taps.ClearResults();
  AccumulateScores(inputs, grads, s, runs, layout, scores);
  return Status::OK();
}

// e_corr + alpha (e_clean - e_corr) for each alpha, stacked: [s*B,P,D] in the model dtype.
torch::Tensor Interpolate(const BatchRuns& runs, const std::vector<double>& alphas) {
  const int64_t s = static_cast<int64_t>(alphas.size());
  torch::Tensor a = torch::tensor(alphas, torch::kDouble).to(torch::kFloat).to(runs.e_clean.device())
                        .view({s, 1, 1, 1});
  torch::Tensor e_corr = runs.e_corr.to(torch::kFloat).unsqueeze(0);
  torch::Tensor diff = (runs.e_clean.to(torch::kFloat) - runs.e_corr.to(torch::kFloat)).unsqueeze(0);
  return (e_corr + a * diff).reshape({s * runs.b, runs.p, -1}).to(runs.e_clean.scalar_type());
}

// Runs `alphas` in chunks of `spf` steps; `make_pass(chunk)` does one chunk.
Status ForChunks(const std::vector<double>& alphas, int spf,
                 const std::function<Status(const std::vector<double>&)>& make_pass) {
  for (size_t k0 = 0; k0 < alphas.size(); k0 += spf) {
    const size_t k1 = std::min(alphas.size(), k0 + static_cast<size_t>(spf));
    FC_RETURN_IF_ERROR(make_pass(std::vector<double>(alphas.begin() + k0, alphas.begin() + k1)));
  }
  return Status::OK();
}

// Number of forward sources feeding a destination given as (layer, kind).
int64_t PrevOf(const circuit::GraphLayout& layout, int64_t layer, DestKind kind) {
  switch (kind) {
    case DestKind::kQ:
    case DestKind::kK:
    case DestKind::kV:
      return layout.Prev(layout.BackwardHead(static_cast<int>(layer), 0, circuit::Qkv::kQ));
    case DestKind::kMlp: return layout.Prev(layout.BackwardMlp(static_cast<int>(layer)));
    case DestKind::kLogits: return layout.n_forward();
  }
  return 0;
}

// EAP-IG on activations, one node group (heads of a layer, or an MLP): its output is replaced by
// alpha clean + (1-alpha) corrupted in an otherwise clean run. Done as a destination delta
// (target - actual) on every destination it feeds: the value is the target and, since the
// actual output cancels, no gradient flows back through the group, as with the original hook.
Status ActivationGroupPasses(CausalLM& model, const Batch& batch, const BatchRuns& runs,
                             const AttributionOptions& options, int64_t first, int64_t count,
                             bool is_heads, int64_t layer, const std::vector<double>& alphas,
                             int spf, const circuit::GraphLayout& layout, torch::Tensor* scores,
                             AttributionStats* stats) {
  torch::Tensor clean_sum = runs.out_clean.narrow(2, first, count).to(torch::kFloat).sum(2);
  torch::Tensor delta_sum =
      (runs.out_corr.narrow(2, first, count).to(torch::kFloat) -
       runs.out_clean.narrow(2, first, count).to(torch::kFloat)).sum(2);  // [B,P,D]
  const auto dtype = runs.e_clean.scalar_type();
  return ForChunks(alphas, spf, [&](const std::vector<double>& chunk) -> Status {
    const int64_t s = static_cast<int64_t>(chunk.size());
    std::vector<double> one_minus(chunk.size());
    for (size_t i = 0; i < chunk.size(); ++i) one_minus[i] = 1.0 - chunk[i];
    torch::Tensor w = torch::tensor(one_minus, torch::kDouble).to(torch::kFloat)
                          .to(clean_sum.device()).view({s, 1, 1, 1});
    torch::Tensor target = (clean_sum.unsqueeze(0) + w * delta_sum.unsqueeze(0))
                               .reshape({s * runs.b, runs.p, -1}).to(dtype);  // [s*B,P,D]
    DeltaFn fn = [&](const Taps& t, int64_t l, DestKind kind) -> torch::Tensor {
      if (PrevOf(layout, l, kind) < first + count) return torch::Tensor();
      torch::Tensor actual = is_heads ? t.head_out[layer].sum(2) : t.mlp_out[layer];
      torch::Tensor d = target - actual;  // [s*B,P,D]
      if (kind == DestKind::kMlp || kind == DestKind::kLogits) return d;
      return d.unsqueeze(2).expand({d.size(0), d.size(1), layout.n_heads(), d.size(2)});
    };
    torch::Tensor embeds = runs.e_clean.repeat({s, 1, 1});
    return GradientPass(model, embeds, s, batch, runs, options, fn, layout, scores, stats);
  });
}

Status AttributeBatch(CausalLM& model, const Batch& batch, const AttributionOptions& options,
                      const circuit::GraphLayout& layout, torch::Tensor* scores,
                      AttributionStats* stats) {
  FC_ASSIGN_OR_RETURN(BatchRuns runs, RunCleanAndCorrupted(model, batch, options, stats));
  std::vector<double> alphas;
  switch (options.method) {
    case Method::kEap: alphas = {1.0}; break;
    case Method::kCleanCorrupted: alphas = {1.0, 0.0}; break;
    case Method::kEapIgInputs:
    case Method::kEapIgActivations: {
      FC_ASSIGN_OR_RETURN(alphas, IgAlphas(options.ig_steps, options.ig_endpoint));
      break;
    }
  }
  const auto& cfg = model.config();
  int spf = options.steps_per_forward > 0
                ? std::min<int>(options.steps_per_forward, static_cast<int>(alphas.size()))
                : StepsPerForward(cfg, runs.b, runs.p, runs.e_clean.element_size(),
                                  static_cast<int>(alphas.size()), options.memory_budget_bytes);
  stats->steps_per_forward = std::max<int64_t>(stats->steps_per_forward, spf);
  auto input_chunk = [&](const std::vector<double>& chunk) -> Status {
    return GradientPass(model, Interpolate(runs, chunk), static_cast<int64_t>(chunk.size()), batch,
                        runs, options, DeltaFn(), layout, scores, stats);
  };
  FC_RETURN_IF_ERROR(ForChunks(alphas, spf, input_chunk));
  if (options.method != Method::kEapIgActivations) return Status::OK();
  const int64_t h = layout.n_heads();
  for (int64_t l = 0; l < layout.n_layers(); ++l) {
    FC_RETURN_IF_ERROR(ActivationGroupPasses(model, batch, runs, options,
                                             layout.ForwardHead(static_cast<int>(l), 0), h, true,
                                             l, alphas, spf, layout, scores, stats));
    FC_RETURN_IF_ERROR(ActivationGroupPasses(model, batch, runs, options,
                                             layout.ForwardMlp(static_cast<int>(l)), 1, false, l,
                                             alphas, spf, layout, scores, stats));
  }
  return Status::OK();
}

}  // namespace

StatusOr<torch::Tensor> AttributeDense(CausalLM& model, const std::vector<Batch>& batches,
                                       const AttributionOptions& options,
                                       AttributionStats* stats) {
  FC_RETURN_IF_ERROR(ValidateOptions(options));
  if (batches.empty()) return InvalidArgumentError("attribution: no batches");
  for (const Batch& b : batches) FC_RETURN_IF_ERROR(ValidateBatchForModel(b, model.config()));
  AttributionStats local;
  if (stats == nullptr) stats = &local;
  *stats = AttributionStats();
  const circuit::GraphConfig gcfg = GraphConfigOf(model.config());
  FC_ASSIGN_OR_RETURN(circuit::GraphLayout layout, circuit::GraphLayout::Create(gcfg));
  try {
    FrozenParameters frozen(model);
    torch::Tensor scores = torch::zeros({layout.n_forward(), layout.n_backward()},
                                        torch::TensorOptions().dtype(torch::kFloat)
                                            .device(model.device()));
    for (const Batch& batch : batches) {
      FC_RETURN_IF_ERROR(AttributeBatch(model, batch, options, layout, &scores, stats));
      stats->examples += batch.size();
    }
    int64_t passes_per_example = 1;
    if (options.method == Method::kCleanCorrupted) passes_per_example = 2;
    if (options.method == Method::kEapIgInputs) passes_per_example = options.ig_steps;
    if (options.method == Method::kEapIgActivations) {
      passes_per_example = options.ig_steps * (2 * layout.n_layers() + 1);
    }
    scores.div_(static_cast<double>(stats->examples) * static_cast<double>(passes_per_example));
    return (scores.cpu() * RealEdgeMask(layout)).contiguous();
  } catch (const c10::Error& e) {
    return InternalError("attribution: LibTorch error: {}", e.what_without_backtrace());
  }
}

StatusOr<circuit::EdgeScores> Attribute(CausalLM& model, const std::vector<Batch>& batches,
                                        const AttributionOptions& options,
                                        AttributionStats* stats) {
  FC_ASSIGN_OR_RETURN(torch::Tensor dense, AttributeDense(model, batches, options, stats));
  FC_ASSIGN_OR_RETURN(circuit::GraphLayout layout,
                      circuit::GraphLayout::Create(GraphConfigOf(model.config())));
  return ToEdgeScores(layout, dense);
}

}  // namespace fc::attribution
