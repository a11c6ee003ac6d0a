// Internal to fc_model: the Taps bookkeeping shared by gpt_neox.cc and gpt2.cc, so both
// architectures fill Taps identically (see taps.h for the contract).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "worker/model/config.h"
#include "worker/model/taps.h"

namespace fc::model::internal {

class TapForward {
 public:
  // taps may be null (then every method is a cheap no-op and the fused path runs).
  TapForward(Taps* taps, const ModelConfig& config);

  bool active() const { return taps_ != nullptr; }
  // True when source outputs must be recorded (capture_outputs or an input_delta).
  bool capture() const { return capture_; }

  // Records the token embedding [B,P,D] (source 0) and prepares result storage.
  void Begin(const torch::Tensor& embeds);
  void RecordHeads(int64_t layer, const torch::Tensor& head_out);  // [B,P,H,D]
  void RecordMlp(int64_t layer, const torch::Tensor& mlp_out);     // [B,P,D]
  void End();                                                      // fills taps->outputs

  // The caller's delta for one destination, or undefined. Checks its shape.
  torch::Tensor Delta(int64_t layer, DestKind kind, const torch::Tensor& like);
  // Whether layer `layer` needs the per-head q/k/v path; fetches the three deltas into *dq/dk/dv.
  bool NeedsPerHead(int64_t layer, const torch::Tensor& resid, torch::Tensor* dq,
                    torch::Tensor* dk, torch::Tensor* dv);
  // Per-head copy of the residual [B,P,D] -> [B,P,H,D] (+delta), retained when requested.
  torch::Tensor HeadInput(int64_t layer, DestKind kind, const torch::Tensor& resid,
                          const torch::Tensor& delta);
  // Input of an MLP / the logits: resid [B,P,D] (+delta), retained when requested. Calls the
  // delta function itself.
  torch::Tensor ResidInput(int64_t layer, DestKind kind, const torch::Tensor& resid);

 private:
  torch::Tensor Retain(int64_t layer, DestKind kind, torch::Tensor t);

  Taps* taps_;
  const ModelConfig& config_;
  bool capture_ = false;
  bool preallocated_ = false;  // outputs allocated up front and filled in place (no-grad runs)
};

}  // namespace fc::model::internal
