// The edge-patched forward of algorithms.md 5.1/5.4, hook-free through Taps::input_delta.
//
// Destination v reads, for every source u < prev(v):
//   out_u of this (patched) run      if u->v is in the circuit,
//   out_u of the corrupted run       otherwise,
// i.e. x_v = base_v + sum_{u not in C} (out_corr[u] - out_actual[u]). So with every edge in it
// is the clean forward, with none it is the corrupted forward (the identity of taps.h), and a
// circuit whose logits node is out returns the corrupted logits directly.
// Destinations whose parents are all in the circuit get no delta (skipped, 12 "skip ...").
#pragma once

#include <torch/torch.h>

#include "common/circuit/circuit.h"
#include "common/circuit/graph.h"
#include "common/status.h"
#include "worker/model/causal_lm.h"

namespace fc::attribution {

struct CircuitMask {
  torch::Tensor edges;  // [n_forward, n_backward] bool; entries off the real-edge mask ignored
  torch::Tensor nodes;  // [n_nodes] bool (node order of graph.h, logits last) or undefined
};

// Masks of a common/circuit Circuit (edge_in / node_in).
CircuitMask MaskOf(const circuit::Circuit& circuit);

// Every edge in (the full model) or none (the empty circuit).
CircuitMask FullCircuitMask(const circuit::GraphLayout& layout);
CircuitMask EmptyCircuitMask(const circuit::GraphLayout& layout);

// The [n_forward, n_backward] bool mask of edges actually kept: edge in, real edge, and (if node
// masks are given) both endpoints in. Checks shapes (INVALID_ARGUMENT naming the field).
StatusOr<torch::Tensor> EffectiveEdgeMask(const circuit::GraphLayout& layout,
                                          const CircuitMask& mask);

// Patched logits [B,P,V] of the clean ids with the corrupted run's source outputs
// `corrupted_outputs` ([B,P,n_forward,D], Taps::outputs of the corrupted run) on every edge
// outside `kept` (EffectiveEdgeMask). Runs under NoGradGuard.
StatusOr<torch::Tensor> PatchedForward(model::CausalLM& model, const circuit::GraphLayout& layout,
                                       const torch::Tensor& clean_ids,
                                       const torch::Tensor& corrupted_outputs,
                                       const torch::Tensor& kept);

}  // namespace fc::attribution
