// fc::collective::Collective: the data-parallel communication interface of the trainer.
//
// A Collective connects `world_size()` ranks (one process per device). Every rank calls the same
// operations in the same order with tensors of the same shapes and dtypes; operations work in
// place. Pluggable like LevelDB's Env: the trainer only sees this interface, the tests use the
// single-process LocalCollective, multi-GPU hosts the NCCL one (nccl_collective.h, built only
// when CUDA LibTorch and NCCL are found). Not thread-safe: one thread per Collective.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/status.h"

namespace fc::collective {

class Collective {
 public:
  virtual ~Collective() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // "local" or "nccl"; for logs and checkpoint metadata.
  virtual std::string name() const = 0;

  // Element-wise sum over all ranks, result on every rank, in place.
  virtual Status AllReduceSum(std::vector<torch::Tensor>& tensors) = 0;
  // Copies `root`'s tensors into every other rank's tensors, in place.
  virtual Status Broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;

  // Sum, then divide by world_size(): the data-parallel gradient average. Integer tensors are
  // rejected (a mean of integers would silently truncate).
  Status AllReduceMean(std::vector<torch::Tensor>& tensors);
};

// All gradients of `params` that are defined, in order: what the trainer all-reduces.
std::vector<torch::Tensor> DefinedGrads(const std::vector<torch::Tensor>& params);

}  // namespace fc::collective
