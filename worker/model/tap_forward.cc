#include "worker/model/tap_forward.h"

namespace fc::model::internal {

TapForward::TapForward(Taps* taps, const ModelConfig& config) : taps_(taps), config_(config) {
  if (taps_ != nullptr) capture_ = taps_->capture_outputs || static_cast<bool>(taps_->input_delta);
}

void TapForward::Begin(const torch::Tensor& embeds) {
  if (!active()) return;
  taps_->ClearResults();
  const size_t layers = static_cast<size_t>(config_.n_layers);
  taps_->head_out.resize(layers);
  taps_->mlp_out.resize(layers);
  if (taps_->retain_inputs) {
    taps_->q_in.resize(layers);
    taps_->k_in.resize(layers);
    taps_->v_in.resize(layers);
    taps_->mlp_in.resize(layers);
  }
  if (!capture_) return;
  // Without autograd the sources can be written straight into one [B,P,n_forward,D] buffer,
  // avoiding a second copy when `outputs` is assembled at the end.
  preallocated_ = !torch::GradMode::is_enabled() && taps_->capture_outputs;
  if (preallocated_) {
    taps_->outputs = torch::empty({embeds.size(0), embeds.size(1), config_.n_forward(),
                                   embeds.size(2)},
                                  embeds.options());
    taps_->embed_out = taps_->outputs.select(2, 0);
    taps_->embed_out.copy_(embeds);
  } else {
    taps_->embed_out = embeds;
  }
}

void TapForward::RecordHeads(int64_t layer, const torch::Tensor& head_out) {
  if (!capture_) return;
  if (preallocated_) {
    const int64_t f = 1 + layer * (config_.n_heads + 1);
    taps_->head_out[layer] = taps_->outputs.narrow(2, f, config_.n_heads);
    taps_->head_out[layer].copy_(head_out);
  } else {
    taps_->head_out[layer] = head_out;
  }
}

void TapForward::RecordMlp(int64_t layer, const torch::Tensor& mlp_out) {
  if (!capture_) return;
  if (preallocated_) {
    const int64_t f = 1 + layer * (config_.n_heads + 1) + config_.n_heads;
    taps_->mlp_out[layer] = taps_->outputs.select(2, f);
    taps_->mlp_out[layer].copy_(mlp_out);
  } else {
    taps_->mlp_out[layer] = mlp_out;
  }
}

void TapForward::End() {
  if (!capture_ || !taps_->capture_outputs || preallocated_) return;
  taps_->outputs = taps_->StackOutputs(config_.n_forward());
}

torch::Tensor TapForward::Delta(int64_t layer, DestKind kind, const torch::Tensor& like) {
  if (!active() || !taps_->input_delta) return torch::Tensor();
  torch::Tensor d = taps_->input_delta(*taps_, layer, kind);
  if (!d.defined()) return d;
  std::vector<int64_t> want = like.sizes().vec();
  if (kind == DestKind::kQ || kind == DestKind::kK || kind == DestKind::kV) {
    want = {like.size(0), like.size(1), config_.n_heads, like.size(2)};
  }
  TORCH_CHECK(d.sizes().vec() == want, "Taps::input_delta(layer ", layer, ", kind ",
              static_cast<int>(kind), ") returned shape ", d.sizes(), ", expected ",
              c10::IntArrayRef(want));
  return d.to(like.options());
}

bool TapForward::NeedsPerHead(int64_t layer, const torch::Tensor& resid, torch::Tensor* dq,
                              torch::Tensor* dk, torch::Tensor* dv) {
  if (!active()) return false;
  *dq = Delta(layer, DestKind::kQ, resid);
  *dk = Delta(layer, DestKind::kK, resid);
  *dv = Delta(layer, DestKind::kV, resid);
  return taps_->retain_inputs || dq->defined() || dk->defined() || dv->defined();
}

torch::Tensor TapForward::HeadInput(int64_t layer, DestKind kind, const torch::Tensor& resid,
                                    const torch::Tensor& delta) {
  // [B,P,D] -> [B,P,H,D]: one copy of the residual per head (a view until something is added).
  torch::Tensor x = resid.unsqueeze(2).expand(
      {resid.size(0), resid.size(1), config_.n_heads, resid.size(2)});
  if (delta.defined()) x = x + delta;
  return Retain(layer, kind, x);
}

torch::Tensor TapForward::ResidInput(int64_t layer, DestKind kind, const torch::Tensor& resid) {
  if (!active()) return resid;
  torch::Tensor d = Delta(layer, kind, resid);
  torch::Tensor x = d.defined() ? resid + d : resid;
  return Retain(layer, kind, x);
}

torch::Tensor TapForward::Retain(int64_t layer, DestKind kind, torch::Tensor t) {
  if (!taps_->retain_inputs) return t;
  if (torch::GradMode::is_enabled()) {
    if (t.requires_grad()) {
      // A distinct autograd node (a zero-copy view), consumed by this destination alone, so its
      // grad is the gradient through this destination only (the residual stream flows on from
      // `resid`). No copy: per-head inputs stay expanded views of the residual.
      t = t.view_as(t);
      t.retain_grad();
    } else {
      t = t.detach().clone().requires_grad_(true);
    }
  }
  switch (kind) {
    case DestKind::kQ: taps_->q_in[layer] = t; break;
    case DestKind::kK: taps_->k_in[layer] = t; break;
    case DestKind::kV: taps_->v_in[layer] = t; break;
    case DestKind::kMlp: taps_->mlp_in[layer] = t; break;
    case DestKind::kLogits: taps_->logits_in = t; break;
  }
  return t;
}

}  // namespace fc::model::internal
