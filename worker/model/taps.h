// Taps: the one place a CausalLM exposes its internals to attribution (algorithms.md 2, 3.8, 5.4),
// without hooks. The caller fills the request fields, passes the Taps to Forward /
// ForwardFromEmbeddings, and reads the result fields afterwards.
//
// Graph (algorithms.md 2.1/2.4). Source nodes, in forward-index order f:
//   f = 0                    input: the token embedding only (W_E[token]; GPT-2 positions excluded)
//   f = 1 + l(H+1) + h       head (l,h): z_h W_O[h]^T, i.e. the head's output through its slice of
//                            the output projection, BEFORE the output bias
//   f = 1 + l(H+1) + H       MLP l: the MLP output including its output bias
// Destinations: every head's q, k and v input (separate per-head copies of the residual stream,
// each layer-normed separately), every MLP input (residual before ln2 / post_attention_layernorm),
// and the logits input (final residual before the final LayerNorm).
//
// Identity (tested): for every destination, its input equals the sum of the outputs of all
// upstream sources plus constants:
//   x_v = sum_{f < prev(v)} out_f + const_v,
//   const_v = (GPT-2: position embedding) + sum over attention layers before v of the output bias
//             (NeoX dense.bias / GPT-2 c_proj.bias).
// The residual stream always carries the actual (unpatched) source outputs; a destination delta
// changes only what that one destination reads, exactly like TransformerLens' hook_q_input etc.
//
// Cost: with no request set the forward is the ordinary fused one. capture_outputs computes the
// per-head outputs [B,P,H,D] (same FLOPs as the fused output projection, H x the memory).
// Per-head q/k/v inputs are materialised (LayerNorm per copy, per-head projections) only for layers
// where retain_inputs is set or input_delta returns a q/k/v delta; other layers stay fused.
//
// Dtypes/devices: every tensor here is in the model's dtype and on its device.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace fc::model {

// Destination kinds. For kQ/kK/kV/kMlp `layer` is the block index; for kLogits it is n_layers.
enum class DestKind { kQ = 0, kK = 1, kV = 2, kMlp = 3, kLogits = 4 };

struct Taps {
  // ---------------------------------------------------------------- requests (set by the caller)
  // Fill embed_out / head_out / mlp_out (during the forward) and `outputs` (at its end).
  bool capture_outputs = false;
  // Materialise every destination input as its own tensor, fill q_in/k_in/v_in/mlp_in/logits_in.
  // Under grad mode each one requires grad (retain_grad(), or a fresh leaf when nothing upstream
  // requires grad), so after loss.backward() `q_in[l].grad()` is dL/dx_v through v only.
  bool retain_inputs = false;
  // Optional additive per-destination delta, called in forward order: for each layer l first
  // (l,kQ), (l,kK), (l,kV) before the attention of l, then (l,kMlp) before the MLP of l (after the
  // heads of layer l are computed, in both residual modes), finally (n_layers,kLogits).
  // It returns an undefined tensor for "no delta", or [B,P,H,D] for q/k/v and [B,P,D] for MLP /
  // logits, added to that destination's input. While it runs, embed_out, head_out[0..l] and
  // mlp_out[0..l-1] hold this run's actual outputs (the forward captures them whenever
  // input_delta is set), so the patched forward of algorithms.md 5.4 is
  //   delta_v = sum_{f < prev(v), (f,v) not in circuit} (out_corr[f] - StackOutputs(prev(v))[f]).
  std::function<torch::Tensor(const Taps& taps, int64_t layer, DestKind kind)> input_delta;

  // ---------------------------------------------------------------- results (set by the forward)
  torch::Tensor embed_out;               // [B,P,D]      source f = 0
  std::vector<torch::Tensor> head_out;   // L x [B,P,H,D] pre output bias
  std::vector<torch::Tensor> mlp_out;    // L x [B,P,D]  incl. output bias
  torch::Tensor outputs;                 // [B,P,n_forward,D] all sources in forward-index order
                                         // (only when capture_outputs)
  std::vector<torch::Tensor> q_in, k_in, v_in;  // L x [B,P,H,D] (only when retain_inputs)
  std::vector<torch::Tensor> mlp_in;            // L x [B,P,D]
  torch::Tensor logits_in;                      // [B,P,D]

  // The first n sources in forward-index order, [B,P,n,D], from embed_out/head_out/mlp_out.
  // Usable inside input_delta for the sources computed so far; fails (c10::Error) if asked for
  // a source not computed yet.
  torch::Tensor StackOutputs(int64_t n) const;
  // The retained input of one destination (undefined if not retained).
  const torch::Tensor& Input(int64_t layer, DestKind kind) const;
  // Drops all results, keeps the requests (reuse one Taps across batches).
  void ClearResults();
};

}  // namespace fc::model
