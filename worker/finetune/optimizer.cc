#include "worker/finetune/optimizer.h"

namespace fc::finetune {

StatusOr<std::unique_ptr<GroupedAdamW>> GroupedAdamW::Create(std::vector<ParamGroup> groups, const AdamWHyper& h) {
  std::vector<ParamGroup> kept;
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (auto& g : groups) {
    if (g.params.empty()) continue;
    if (!(g.lr >= 0)) return InvalidArgumentError("optimizer group '{}' field 'lr': must be >= 0, got {}", g.name, g.lr);
    auto opts = std::make_unique<torch::optim::AdamWOptions>(g.lr);
    opts->betas(std::make_tuple(h.beta1, h.beta2)).eps(h.eps).weight_decay(g.weight_decay).amsgrad(false);
    torch_groups.emplace_back(g.params, std::move(opts));
    kept.push_back(std::move(g));
  }
  if (kept.empty()) return InvalidArgumentError("optimizer: no trainable parameters");
  torch::optim::AdamWOptions defaults(kept.front().lr);
  defaults.betas(std::make_tuple(h.beta1, h.beta2)).eps(h.eps);
  auto opt = std::make_unique<torch::optim::AdamW>(std::move(torch_groups), defaults);
  return std::unique_ptr<GroupedAdamW>(new GroupedAdamW(std::move(kept), std::move(opt)));
}

void GroupedAdamW::SetLrMultiplier(double m) {
  auto& pgs = opt_->param_groups();
  for (size_t i = 0; i < pgs.size(); ++i) {
    static_cast<torch::optim::AdamWOptions&>(pgs[i].options()).lr(groups_[i].lr * m);
  }
}

double GroupedAdamW::CurrentLr(size_t group) const {
  return static_cast<const torch::optim::AdamWOptions&>(opt_->param_groups().at(group).options()).lr();
}

void GroupedAdamW::ZeroGrad() {
  // Gradients are reset to undefined (not zero-filled) so nothing stale can leak into a step.
  for (auto& g : groups_) {
    for (auto& p : g.params) {
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    }
  }
}

std::vector<torch::Tensor> GroupedAdamW::AllParams() const {
  std::vector<torch::Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

int64_t GroupedAdamW::ParameterCount() const {
  int64_t n = 0;
  for (const auto& g : groups_) {
    for (const auto& p : g.params) n += p.numel();
  }
  return n;
}

Status GroupedAdamW::Load(torch::serialize::InputArchive& archive) {
  try {
    opt_->load(archive);
  } catch (const c10::Error& e) {
    return DataLossError("optimizer state does not fit the current parameters: {}", e.what_without_backtrace());
  }
  // The archive carries the lr of the step it was saved at; the trainer sets the lr before
  // every step, but groups' base values stay ours.
  return Status::OK();
}

double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat64));
  }
  if (norms.empty()) return 0.0;
  const double total = torch::stack(norms).norm(2).item<double>();
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
  }
  return total;
}

}  // namespace fc::finetune
