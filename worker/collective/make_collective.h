// MakeCollective: picks the Collective for a job. World size 1 is always the LocalCollective;
// above 1 it is NCCL when this build has it (FC_HAVE_NCCL) and FAILED_PRECONDITION otherwise,
// so a multi-rank job never silently trains on one rank.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "worker/collective/collective.h"

namespace fc::collective {

struct CollectiveOptions {
  int rank = 0;
  int world_size = 1;
  int device_index = 0;
  std::string id_file;  // NCCL rendezvous file, see nccl_collective.h
};

// True when this binary was built with the NCCL implementation.
bool NcclCompiledIn();

StatusOr<std::unique_ptr<Collective>> MakeCollective(const CollectiveOptions& options);

}  // namespace fc::collective
