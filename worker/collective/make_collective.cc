#include "worker/collective/make_collective.h"

#include "worker/collective/local_collective.h"
#ifdef FC_HAVE_NCCL
#include "worker/collective/nccl_collective.h"
#endif

namespace fc::collective {

bool NcclCompiledIn() {
#ifdef FC_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

StatusOr<std::unique_ptr<Collective>> MakeCollective(const CollectiveOptions& o) {
  if (o.world_size < 1) return InvalidArgumentError("collective field 'world_size': must be >= 1, got {}", o.world_size);
  if (o.rank < 0 || o.rank >= o.world_size) {
    return InvalidArgumentError("collective field 'rank': must be in [0, {}), got {}", o.world_size, o.rank);
  }
  if (o.world_size == 1) return MakeLocalCollective();
#ifdef FC_HAVE_NCCL
  NcclOptions n;
  n.rank = o.rank;
  n.world_size = o.world_size;
  n.device_index = o.device_index;
  n.id_file = o.id_file;
  return MakeNcclCollective(n);
#else
  return FailedPreconditionError(
      "collective: world size {} needs NCCL, but this build has none (needs CUDA LibTorch and nccl.h; "
      "see worker/collective/CMakeLists.txt)", o.world_size);
#endif
}

}  // namespace fc::collective
