// LocalCollective: the single-process Collective (rank 0 of world size 1). All-reduce and
// broadcast are identities after validating their inputs, so a trainer using it computes
// exactly what it computes without data parallelism. It is the CPU fallback and what the tests
// use; it never pretends to be more than one rank.
#pragma once

#include <memory>

#include "worker/collective/collective.h"

namespace fc::collective {

class LocalCollective : public Collective {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string name() const override { return "local"; }
  Status AllReduceSum(std::vector<torch::Tensor>& tensors) override;
  Status Broadcast(std::vector<torch::Tensor>& tensors, int root) override;
};

std::unique_ptr<Collective> MakeLocalCollective();

}  // namespace fc::collective
