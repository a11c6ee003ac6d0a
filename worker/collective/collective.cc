#include "worker/collective/collective.h"

namespace fc::collective {

Status Collective::AllReduceMean(std::vector<torch::Tensor>& tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) return InvalidArgumentError("AllReduceMean: tensor {} is undefined", i);
    if (!tensors[i].is_floating_point()) {
      return InvalidArgumentError("AllReduceMean: tensor {} has integer dtype {}; mean needs floats", i,
                                  std::string(c10::toString(tensors[i].scalar_type())));
    }
  }
  FC_RETURN_IF_ERROR(AllReduceSum(tensors));
  if (world_size() == 1) return Status::OK();
  torch::NoGradGuard no_grad;
  for (auto& t : tensors) t.div_(static_cast<double>(world_size()));
  return Status::OK();
}

std::vector<torch::Tensor> DefinedGrads(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return grads;
}

}  // namespace fc::collective
