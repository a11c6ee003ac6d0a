// NcclCollective: one rank of a multi-GPU data-parallel group over NCCL. Compiled only when
// CMake found CUDA LibTorch and NCCL (FC_HAVE_NCCL); otherwise MakeCollective refuses a world
// size above 1 with a clear error instead of silently training on one rank.
//
// Rendezvous is a shared file: rank 0 creates the NCCL unique id and writes it atomically to
// `id_file`; the other ranks poll for it (up to `rendezvous_timeout_s`). Every tensor passed to
// an operation must be a CUDA tensor on this rank's device; work is enqueued on the current
// CUDA stream, so it is ordered after the backward pass that produced the gradients.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "worker/collective/collective.h"

namespace fc::collective {

struct NcclOptions {
  int rank = 0;
  int world_size = 1;
  int device_index = 0;            // CUDA device of this rank
  std::string id_file;             // shared path for the unique id (e.g. on the job's scratch dir)
  double rendezvous_timeout_s = 120;
};

// Returns an initialised communicator, or the NCCL/CUDA error naming the rank and call.
StatusOr<std::unique_ptr<Collective>> MakeNcclCollective(const NcclOptions& options);

}  // namespace fc::collective
