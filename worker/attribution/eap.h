// Edge attribution: EAP, EAP-IG on inputs (the paper's method), clean-corrupted and EAP-IG on
// activations (algorithms.md 3), hook-free through model::Taps.
//
// Score of edge u->v:  S(u->v) = 1/(N T) sum_i sum_t sum_{p,d} Delta_u[i,p,d] dM_i,t/dx_v[i,p,d]
// with Delta = out(corrupted) - out(clean) (sign: corrupted minus clean), M the metric of
// options.metric against the reference logits (options.reference), t over the T gradient passes
// of the method and N the number of examples. So S(u->v) ~ M(edge u->v corrupted) - M(clean):
// positive scores raise the metric when the edge is corrupted.
//   kEap               T = 1, gradient at the clean input
//   kEapIgInputs       T = m, token embeddings e' + alpha (e - e'), alpha from IgAlphas
//   kCleanCorrupted    T = 2, gradients at alpha = 1 and alpha = 0
//   kEapIgActivations  T = m (2L+1): per node group (input, heads of layer l, MLP l) its output is
//                      replaced by alpha clean + (1-alpha) corrupted (no gradient through it), the
//                      rest of the run is clean
// ScoreWeighting::kPaperBatchMean uses the batch-mean metric instead of the per-example one
// (each example then weighs 1/(N B_b T), [EAP-old]).
//
// Lean by construction: parameters never get gradients (requires_grad is switched off for the
// call and restored), the clean/corrupted runs are under NoGradGuard, gradients are taken only
// w.r.t. the destination inputs (torch::autograd::grad), the IG steps of a batch run as one
// forward of m*B rows when options.memory_budget_bytes allows it (micro-batched otherwise), and
// scores accumulate in float32 as one GEMM per destination layer: [prev, B*P*D] x [B*P*D, 3H+1].
//
// Errors: INVALID_ARGUMENT for bad options/batches (naming the field/row), INTERNAL for a
// c10::Error from LibTorch (message kept). No exception escapes.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/circuit/graph.h"
#include "common/status.h"
#include "worker/attribution/batch.h"
#include "worker/attribution/options.h"
#include "worker/model/causal_lm.h"

namespace fc::attribution {

struct AttributionStats {
  int64_t examples = 0;
  int64_t forwards = 0;             // model forwards of any size (no-grad and gradient passes)
  int64_t backwards = 0;            // autograd::grad calls
  int64_t max_rows_per_forward = 0; // largest forward, in rows (m*B when all steps fit)
  int64_t steps_per_forward = 0;    // as planned for the largest batch
};

// Dense scores [n_forward, n_backward] float32 on CPU; non-edges are 0.
StatusOr<torch::Tensor> AttributeDense(model::CausalLM& model, const std::vector<Batch>& batches,
                                       const AttributionOptions& options,
                                       AttributionStats* stats = nullptr);

// The same as an EdgeScores for common/circuit (selection, formats, merge).
StatusOr<circuit::EdgeScores> Attribute(model::CausalLM& model, const std::vector<Batch>& batches,
                                        const AttributionOptions& options,
                                        AttributionStats* stats = nullptr);

}  // namespace fc::attribution
