#include "worker/collective/local_collective.h"

namespace fc::collective {

namespace {
Status CheckDefined(const char* op, const std::vector<torch::Tensor>& tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) return InvalidArgumentError("{}: tensor {} is undefined", op, i);
  }
  return Status::OK();
}
}  // namespace

Status LocalCollective::AllReduceSum(std::vector<torch::Tensor>& tensors) {
  return CheckDefined("AllReduceSum", tensors);
}

Status LocalCollective::Broadcast(std::vector<torch::Tensor>& tensors, int root) {
  if (root != 0) return InvalidArgumentError("Broadcast: root {} out of range for world size 1", root);
  return CheckDefined("Broadcast", tensors);
}

std::unique_ptr<Collective> MakeLocalCollective() { return std::make_unique<LocalCollective>(); }

}  // namespace fc::collective
