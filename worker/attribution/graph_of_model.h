// The attribution graph of a model (algorithms.md 2): GraphConfig from a ModelConfig, and the
// real-edge mask as a tensor. GPT-NeoX with use_parallel_residual (all Pythia) is the parallel
// graph; GPT-2 and NeoX without parallel residual are sequential (the MLP of layer l reads the
// heads of layer l), matching what the model's forward actually computes.
#pragma once

#include <torch/torch.h>

#include "common/circuit/graph.h"
#include "worker/model/config.h"

namespace fc::attribution {

circuit::GraphConfig GraphConfigOf(const model::ModelConfig& cfg);

// [n_forward, n_backward] bool, true exactly where f < Prev(b).
torch::Tensor RealEdgeMask(const circuit::GraphLayout& layout);

// Copies a [n_forward, n_backward] float tensor into EdgeScores (non-edges forced to 0).
circuit::EdgeScores ToEdgeScores(const circuit::GraphLayout& layout, const torch::Tensor& dense);

}  // namespace fc::attribution
